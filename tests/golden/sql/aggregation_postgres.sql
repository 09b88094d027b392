-- sloview per-minute aggregation, postgres: latency with exact counts at 500 ms (lte) and 2000 ms (lt)
SELECT
  b AS m,
  s,
  f,
  k,
  g0,
  CAST(COUNT(*) AS BIGINT) AS n,
  CAST(SUM(CASE WHEN (
    v >= 0 AND v < 1e+300
  ) AND v <= 500.0 THEN 1 ELSE 0 END) AS BIGINT) AS c0,
  CAST(SUM(CASE WHEN (
    v >= 0 AND v < 1e+300
  ) AND v < 2000.0 THEN 1 ELSE 0 END) AS BIGINT) AS c1
FROM (
  SELECT
    CAST(FLOOR(EXTRACT(EPOCH FROM "ts") / 60) AS BIGINT) AS b,
    "status" AS s,
    CASE
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) IS NULL
      THEN 1
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) < 1e+300
      THEN 0
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) < 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) > -1E+300
      THEN 3
      ELSE 2
    END AS f,
    CASE
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) < 1e+300
      THEN CASE
        WHEN CAST("latency_ms" AS DOUBLE PRECISION) <= 0.001
        THEN -696
        ELSE CAST(CEIL(LOG10(CAST("latency_ms" AS DOUBLE PRECISION)) * 232 - 1e-09) AS INT)
      END
      ELSE -2147483648
    END AS k,
    CAST("latency_ms" AS DOUBLE PRECISION) AS v,
    CAST("endpoint" AS TEXT) AS g0
  FROM "logs"."requests"
  WHERE
    "ts" >= CAST('2026-09-01 00:00:00+00:00' AS TIMESTAMPTZ)
    AND "ts" < CAST('2026-10-01 00:00:00+00:00' AS TIMESTAMPTZ)
) AS r
GROUP BY
  b,
  s,
  f,
  k,
  g0;

-- time to first token
SELECT
  b AS m,
  s,
  f,
  tf,
  k,
  g0,
  CAST(COUNT(*) AS BIGINT) AS n
FROM (
  SELECT
    CAST(FLOOR(EXTRACT(EPOCH FROM "ts") / 60) AS BIGINT) AS b,
    "status" AS s,
    CASE
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) IS NULL
      THEN 1
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) < 1e+300
      THEN 0
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) < 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) > -1E+300
      THEN 3
      ELSE 2
    END AS f,
    CASE
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) IS NULL
      THEN 1
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("ttft_ms" AS DOUBLE PRECISION) < 1e+300
      THEN 0
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) < 0
      AND CAST("ttft_ms" AS DOUBLE PRECISION) > -1E+300
      THEN 3
      ELSE 2
    END AS tf,
    CASE
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("ttft_ms" AS DOUBLE PRECISION) < 1e+300
      THEN CASE
        WHEN CAST("ttft_ms" AS DOUBLE PRECISION) <= 0.001
        THEN -696
        ELSE CAST(CEIL(LOG10(CAST("ttft_ms" AS DOUBLE PRECISION)) * 232 - 1e-09) AS INT)
      END
      ELSE -2147483648
    END AS k,
    CAST("endpoint" AS TEXT) AS g0
  FROM "logs"."requests"
  WHERE
    "ts" >= CAST('2026-09-01 00:00:00+00:00' AS TIMESTAMPTZ)
    AND "ts" < CAST('2026-10-01 00:00:00+00:00' AS TIMESTAMPTZ)
) AS r
GROUP BY
  b,
  s,
  f,
  tf,
  k,
  g0;
