import asyncio, json, os
import asyncpg
from datetime import UTC, datetime
from benchmarks import bench_intake as b
from aftersales_shared import devstack
from aftersales_shared.ids import new_id
async def main(info):
    pool = await asyncpg.create_pool(f"postgresql://ticketing:{info.service_password('ticketing')}@127.0.0.1:{info.pg_port}/{b.BENCH_DB}", min_size=16, max_size=16)
    base_serials = iter(range(1, 10**9))
    async def insert_raw(i: int) -> bool:
        tid, now = new_id(), datetime.now(UTC)
        payload = json.dumps({"ticket_id": str(tid), "serial": f"RAW-{i}", **b.body(f"RAW-{i}", i)})
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(b._BASE_TICKET, tid, now, f"RAWX-{os.getpid()}-{next(base_serials)}", f"客户{i}",
                               f"+86139{i % 100_000_000:08d}", "南京市鼓楼区中山路1号",
                               f"unit {i} does not cool, compressor rattles")
            await conn.execute(b._BASE_HIST, tid, now)
            await conn.execute(b._BASE_OUTBOX, new_id(), str(tid), payload)
        return True
    ok, elapsed, lat, err = await b.drive(insert_raw, 10, 16)
    print(ok/elapsed, b.pct(lat,50), b.pct(lat,99))
if __name__ == '__main__':
    info, _ = devstack.up()
    asyncio.run(main(info))
