"""Part-request allocation as one database function (issue 5: >= 500 allocations/s on 2 cores).

``parts.allocate_request`` does in one round trip, in one implicit transaction (the API calls it outside
any explicit BEGIN/COMMIT), what the SQLAlchemy path did in about twelve statements: catalogue check,
Idempotency-Key claim or replay, per-part advisory locks (the same keys as ``stock.lock_parts``, sorted,
so every stock writer orders its work the same way), FOR UPDATE of the candidate balances, the choice of
warehouse (``domain/allocation.py`` ``choose``: nearest single warehouse that can fill the line, ties by
warehouse id; split nearest-first only when allowed and the total suffices; otherwise backorder, nothing
partially taken), the reserve movement + balance update + reservation per pick, the low-stock alert, the
request and its lines, the outbox rows, the stored idempotent response, and the wake-up of a sleeping relay.

The caller passes the request row (as the JSON the API answers with, minus status/lines/reservations), the
lines, and the outbox rows of RequestCreated + RequestAllocated built from the typed event classes. When a
line is backordered the function sets ``payload.status`` of those envelopes and turns the allocated event
into ``parts.request.backordered`` (same payload contract, topic and version). LowStock envelopes are built
here, with the correlation id and headers of the request's events.

Revision ID: parts_0003
Revises: parts_0002
Create Date: 2026-11-21
"""
from alembic import op

from aftersales_shared.outbox import WAKE_RELAY_SQL

revision = "parts_0003"
down_revision = "parts_0002"
branch_labels = None
depends_on = None

HAVERSINE = """
CREATE FUNCTION parts.haversine_km(lat1 float8, lon1 float8, lat2 float8, lon2 float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  -- the same operations, in the same order, as domain/allocation.py haversine_km
  SELECT 2::float8 * 6371.0088::float8 * asin(least(1::float8, sqrt(
    sin((radians(lat2) - radians(lat1)) / 2) ^ 2
    + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$"""

ALLOCATE = f"""
CREATE FUNCTION parts.allocate_request(
    p_principal text, p_key text, p_hash text, p_request jsonb,
    p_line_ids uuid[], p_part_nos text[], p_quantities int[], p_allow_split boolean,
    p_event_ids uuid[], p_topics text[], p_event_types text[], p_payloads text[], p_headers text[],
    OUT outcome text, OUT status_code int, OUT response text, OUT line_status text[], OUT bad_line int)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_id uuid := (p_request->>'id')::uuid;
  v_now timestamptz := (p_request->>'created_at')::timestamptz;
  v_lat float8 := (p_request->>'ship_to_lat')::float8;
  v_lon float8 := (p_request->>'ship_to_lon')::float8;
  v_job text := p_request->>'job_id';
  v_status text := 'allocated';
  v_hash text;
  v_part text;
  v_qty int;
  v_ids uuid[];
  v_avail int[];
  v_rps int[];
  v_alerted boolean[];
  v_total int;
  v_pick int[];
  v_take int[];
  v_left int;
  v_k int;
  v_low boolean;
  v_res_id uuid;
  v_res jsonb := '[]';
  v_lines jsonb;
  v_response jsonb;
BEGIN
  line_status := '{{}}';
  -- unknown parts: nothing is written (the key is not claimed either)
  SELECT min(t.n) INTO bad_line FROM unnest(p_part_nos) WITH ORDINALITY AS t(p, n)
   WHERE NOT EXISTS (SELECT 1 FROM parts.catalogue_parts c WHERE c.part_no = t.p);
  IF bad_line IS NOT NULL THEN
    outcome := 'unknown_part';
    RETURN;
  END IF;

  -- Idempotency-Key: a concurrent duplicate waits on the primary key until the first one commits
  IF p_key IS NOT NULL THEN
    INSERT INTO parts.idempotency_keys (principal, key, request_hash, created_at)
    VALUES (p_principal, p_key, p_hash, v_now) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      SELECT k.request_hash, k.status_code, k.response::text INTO v_hash, status_code, response
        FROM parts.idempotency_keys k WHERE k.principal = p_principal AND k.key = p_key;
      IF v_hash IS DISTINCT FROM p_hash THEN
        outcome := 'key_reused'; status_code := NULL; response := NULL;
      ELSE
        outcome := 'replay';
      END IF;
      RETURN;
    END IF;
  END IF;

  -- the per-part locks every stock writer takes (stock.lock_parts), in the same (code point) order
  PERFORM pg_advisory_xact_lock(hashtext('parts.stock:' || s.p))
     FROM (SELECT DISTINCT p COLLATE "C" AS p FROM unnest(p_part_nos) AS u(p) ORDER BY 1) AS s;

  FOR i IN 1 .. cardinality(p_part_nos) LOOP
    v_part := p_part_nos[i];
    v_qty := p_quantities[i];
    -- candidates, locked in warehouse order, then ranked nearest first (ties: warehouse id)
    SELECT array_agg(c.warehouse_id ORDER BY c.d, c.warehouse_id), array_agg(c.available ORDER BY c.d, c.warehouse_id),
           array_agg(c.reorder_point ORDER BY c.d, c.warehouse_id),
           array_agg(c.low_alerted ORDER BY c.d, c.warehouse_id), coalesce(sum(c.available), 0)
      INTO v_ids, v_avail, v_rps, v_alerted, v_total
      FROM (SELECT b.warehouse_id, b.on_hand - b.reserved AS available, b.reorder_point, b.low_alerted,
                   CASE WHEN v_lat IS NULL THEN 0::float8 ELSE parts.haversine_km(v_lat, v_lon, w.lat, w.lon) END AS d
              FROM parts.stock_balances b JOIN parts.warehouses w ON w.id = b.warehouse_id
             WHERE b.part_no = v_part AND w.kind IN ('central', 'regional') AND b.on_hand > b.reserved
             ORDER BY b.warehouse_id FOR UPDATE OF b) AS c;
    v_pick := '{{}}';
    v_take := '{{}}';
    FOR j IN 1 .. coalesce(cardinality(v_ids), 0) LOOP
      IF v_avail[j] >= v_qty THEN
        v_pick := ARRAY[j];
        v_take := ARRAY[v_qty];
        EXIT;
      END IF;
    END LOOP;
    IF cardinality(v_pick) = 0 AND p_allow_split AND v_total >= v_qty THEN
      v_left := v_qty;
      FOR j IN 1 .. cardinality(v_ids) LOOP
        v_k := least(v_avail[j], v_left);
        v_pick := v_pick || j;
        v_take := v_take || v_k;
        v_left := v_left - v_k;
        EXIT WHEN v_left = 0;
      END LOOP;
    END IF;
    IF cardinality(v_pick) = 0 THEN
      line_status := line_status || 'backordered'::text;
      v_status := 'backordered';
      CONTINUE;
    END IF;
    line_status := line_status || 'allocated'::text;
    FOR j IN 1 .. cardinality(v_pick) LOOP
      v_k := v_pick[j];
      v_res_id := gen_random_uuid();
      v_low := v_rps[v_k] > 0 AND v_avail[v_k] - v_take[j] < v_rps[v_k];
      UPDATE parts.stock_balances SET reserved = reserved + v_take[j], updated_at = v_now, low_alerted = v_low
       WHERE warehouse_id = v_ids[v_k] AND part_no = v_part;
      INSERT INTO parts.stock_movements (warehouse_id, part_no, kind, quantity, on_hand_delta, reserved_delta, ref_id, at)
      VALUES (v_ids[v_k], v_part, 'reserve', v_take[j], 0, v_take[j], v_res_id::text, v_now);
      INSERT INTO parts.reservations (id, request_id, line_id, warehouse_id, part_no, quantity, job_id, status,
                                      created_at)
      VALUES (v_res_id, v_id, p_line_ids[i], v_ids[v_k], v_part, v_take[j], v_job, 'active', v_now);
      v_res := v_res || jsonb_build_object('id', v_res_id, 'line_id', p_line_ids[i], 'warehouse_id', v_ids[v_k],
                                           'part_no', v_part, 'quantity', v_take[j], 'status', 'active');
      IF v_low AND NOT v_alerted[v_k] THEN  -- LowStock, once per crossing (stock._low_stock_check)
        INSERT INTO parts.outbox (event_id, topic, key, event_type, payload, headers)
        SELECT e.id, 'parts.stock.v1', e.agg, 'parts.stock.low',
               jsonb_build_object('event_id', e.id, 'type', 'parts.stock.low', 'version', 1,
                                  'occurred_at', p_request->'created_at', 'producer', 'parts', 'aggregate_id', e.agg,
                                  'correlation_id', p_payloads[1]::jsonb->'correlation_id',
                                  'payload', jsonb_build_object('warehouse_id', v_ids[v_k], 'part_no', v_part,
                                                                'available', v_avail[v_k] - v_take[j],
                                                                'reorder_point', v_rps[v_k],
                                                                'at', p_request->'created_at')),
               jsonb_set(p_headers[1]::jsonb, '{{event_type}}', '"parts.stock.low"')
          FROM (SELECT gen_random_uuid() AS id, v_ids[v_k]::text || ':' || v_part AS agg) AS e;
      END IF;
    END LOOP;
  END LOOP;

  INSERT INTO parts.part_requests (id, requester_kind, job_id, ticket_id, dealer_id, engineer_id, coverage, urgent,
      ship_to_address, ship_to_lat, ship_to_lon, status, created_at, shippable_at, ship_by, documents)
  VALUES (v_id, p_request->>'requester_kind', v_job, p_request->>'ticket_id', p_request->>'dealer_id',
      p_request->>'engineer_id', p_request->>'coverage', (p_request->>'urgent')::boolean,
      p_request->>'ship_to_address', v_lat, v_lon, v_status, v_now, (p_request->>'shippable_at')::timestamptz,
      (p_request->>'ship_by')::timestamptz, '{{}}');
  WITH l AS (
    INSERT INTO parts.part_request_lines (id, request_id, line_no, part_no, quantity, status)
    SELECT t.id, v_id, t.n, t.p, t.q, t.s
      FROM unnest(p_line_ids, p_part_nos, p_quantities, line_status) WITH ORDINALITY AS t(id, p, q, s, n)
    RETURNING id, line_no, part_no, quantity, status
  )
  SELECT jsonb_agg(jsonb_build_object('id', l.id, 'line_no', l.line_no, 'part_no', l.part_no,
                                      'quantity', l.quantity, 'status', l.status) ORDER BY l.line_no)
    INTO v_lines FROM l;

  INSERT INTO parts.outbox (event_id, topic, key, event_type, payload, headers)
  SELECT e.id, e.topic, v_id::text, t.typ,
         CASE WHEN v_status = 'allocated' THEN e.payload::jsonb
              ELSE jsonb_set(jsonb_set(e.payload::jsonb, '{{payload,status}}', to_jsonb(v_status)), '{{type}}',
                             to_jsonb(t.typ)) END,
         CASE WHEN v_status = 'allocated' THEN e.headers::jsonb
              ELSE jsonb_set(e.headers::jsonb, '{{event_type}}', to_jsonb(t.typ)) END
    FROM unnest(p_event_ids, p_topics, p_event_types, p_payloads, p_headers)
         WITH ORDINALITY AS e(id, topic, typ, payload, headers, n)
   CROSS JOIN LATERAL (SELECT CASE WHEN v_status = 'backordered' AND e.typ = 'parts.request.allocated'
                                   THEN 'parts.request.backordered' ELSE e.typ END AS typ) AS t
   ORDER BY e.n;
  PERFORM {WAKE_RELAY_SQL};

  v_response := p_request || jsonb_build_object('status', v_status, 'lines', v_lines, 'reservations', v_res);
  IF p_key IS NOT NULL THEN
    UPDATE parts.idempotency_keys SET status_code = 201, response = v_response
     WHERE principal = p_principal AND key = p_key;
  END IF;
  outcome := 'created';
  status_code := 201;
  response := v_response::text;
END
$fn$"""


def upgrade() -> None:
    op.execute(HAVERSINE)
    op.execute(ALLOCATE)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS parts.allocate_request(text, text, text, jsonb, uuid[], text[], int[], "
               "boolean, uuid[], text[], text[], text[], text[])")
    op.execute("DROP FUNCTION IF EXISTS parts.haversine_km(float8, float8, float8, float8)")
