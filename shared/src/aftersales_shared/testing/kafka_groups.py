"""Consumer groups in tests: how a group is split between instances (starting a fresh group at the topics' end is
``aftersales_shared.testing.isolation.start_groups_at_end``)."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.group import MemberAssignment


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
