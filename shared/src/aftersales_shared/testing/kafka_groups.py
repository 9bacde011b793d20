"""Consumer groups in tests: start a fresh group at the topics' current end, and see how a group is split.

A test that runs real services gives their consumer groups a prefix of its own and commits them at the end of
their topics before the services start: the services then see every event the test causes and never replay the
topics' history (other tests empty the schemas and inboxes, so a replay would redo old work).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.group import MemberAssignment

from ..kafka import ensure_topics


async def start_groups_at_end(bootstrap: str, groups: dict[str, list[str]]) -> None:
    """Commit each (new) consumer group's offsets at the current end of its topics."""
    names = sorted({t for topics in groups.values() for t in topics})
    await ensure_topics(bootstrap, names)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = {d["topic"]: sorted(p["partition"] for p in d["partitions"])
                      for d in await admin.describe_topics(names)}
    finally:
        await admin.close()
    for group, topics in groups.items():
        tps = [TopicPartition(t, p) for t in topics for p in partitions[t]]
        assert tps, f"no partitions known for {topics}"
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await c.start()
        try:
            c.assign(tps)
            ends = await c.end_offsets(tps)
            await c.commit(ends)
        finally:
            await c.stop()


@dataclass(frozen=True)
class GroupState:
    """What the group coordinator says about one consumer group."""

    group: str
    state: str
    """``Stable`` once a rebalance is over; ``PreparingRebalance``/``CompletingRebalance`` meanwhile."""
    members: dict[str, frozenset[TopicPartition]]
    """member id -> the partitions assigned to it."""

    @property
    def assigned(self) -> frozenset[TopicPartition]:
        return frozenset().union(*self.members.values()) if self.members else frozenset()


async def describe_groups(bootstrap: str, groups: list[str]) -> dict[str, GroupState]:
    """Each group's state and members with their assigned partitions (``AIOKafkaAdminClient``)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups(groups)
    finally:
        await admin.close()
    out: dict[str, GroupState] = {}
    for response in responses:
        for g in response.to_object()["groups"]:
            members = {}
            for m in g["members"]:
                raw = m["member_assignment"]
                tps: frozenset[TopicPartition] = frozenset()
                if raw:
                    decoded = MemberAssignment.decode(raw)
                    tps = frozenset(TopicPartition(t, p) for t, ps in decoded.assignment for p in ps)
                members[m["member_id"]] = tps
            out[g["group"]] = GroupState(g["group"], g["state"], members)
    return out


async def topic_partitions(bootstrap: str, topics: list[str]) -> frozenset[TopicPartition]:
    """Every partition of ``topics``, asked of the broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return frozenset(TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"])
