-- sloview per-minute aggregation, duckdb: latency with exact counts at 500 ms (lte) and 2000 ms (lt)
SELECT
  m,
  s,
  f,
  g0,
  CAST(SUM(cells.n) AS BIGINT) AS n,
  CAST(SUM(cells.c0) AS BIGINT) AS c0,
  CAST(SUM(cells.c1) AS BIGINT) AS c1,
  ARRAY_AGG(
    CAST(CASE
      WHEN cells.k = -2147483648
      THEN cells.n * 131072
      ELSE cells.n * 131072 + cells.k + 1000
    END AS BIGINT)
  ) AS cells
FROM (
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
      CAST((epoch_ms(CAST("ts" AS TIMESTAMPTZ)) // 60000) AS BIGINT) AS b,
      "status" AS s,
      CASE
        WHEN TRY_CAST("latency_ms" AS DOUBLE) IS NULL
        THEN 1
        WHEN TRY_CAST("latency_ms" AS DOUBLE) >= 0
        AND TRY_CAST("latency_ms" AS DOUBLE) < 1e+300
        THEN 0
        WHEN TRY_CAST("latency_ms" AS DOUBLE) < 0
        AND TRY_CAST("latency_ms" AS DOUBLE) > -1E+300
        THEN 3
        ELSE 2
      END AS f,
      CASE
        WHEN TRY_CAST("latency_ms" AS DOUBLE) >= 0
        AND TRY_CAST("latency_ms" AS DOUBLE) < 1e+300
        THEN CASE
          WHEN TRY_CAST("latency_ms" AS DOUBLE) <= 0.001
          THEN -696
          ELSE CAST(CEIL(LOG10(TRY_CAST("latency_ms" AS DOUBLE)) * 232 - 1e-09) AS INT)
        END
        ELSE -2147483648
      END AS k,
      TRY_CAST("latency_ms" AS DOUBLE) AS v,
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
    g0
) AS cells
GROUP BY
  m,
  s,
  f,
  g0;

-- time to first token
SELECT
  m,
  s,
  f,
  tf,
  g0,
  CAST(SUM(cells.n) AS BIGINT) AS n,
  ARRAY_AGG(
    CAST(CASE
      WHEN cells.k = -2147483648
      THEN cells.n * 131072
      ELSE cells.n * 131072 + cells.k + 1000
    END AS BIGINT)
  ) AS cells
FROM (
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
      CAST((epoch_ms(CAST("ts" AS TIMESTAMPTZ)) // 60000) AS BIGINT) AS b,
      "status" AS s,
      CASE
        WHEN TRY_CAST("latency_ms" AS DOUBLE) IS NULL
        THEN 1
        WHEN TRY_CAST("latency_ms" AS DOUBLE) >= 0
        AND TRY_CAST("latency_ms" AS DOUBLE) < 1e+300
        THEN 0
        WHEN TRY_CAST("latency_ms" AS DOUBLE) < 0
        AND TRY_CAST("latency_ms" AS DOUBLE) > -1E+300
        THEN 3
        ELSE 2
      END AS f,
      CASE
        WHEN TRY_CAST("ttft_ms" AS DOUBLE) IS NULL
        THEN 1
        WHEN TRY_CAST("ttft_ms" AS DOUBLE) >= 0 AND TRY_CAST("ttft_ms" AS DOUBLE) < 1e+300
        THEN 0
        WHEN TRY_CAST("ttft_ms" AS DOUBLE) < 0 AND TRY_CAST("ttft_ms" AS DOUBLE) > -1E+300
        THEN 3
        ELSE 2
      END AS tf,
      CASE
        WHEN TRY_CAST("ttft_ms" AS DOUBLE) >= 0 AND TRY_CAST("ttft_ms" AS DOUBLE) < 1e+300
        THEN CASE
          WHEN TRY_CAST("ttft_ms" AS DOUBLE) <= 0.001
          THEN -696
          ELSE CAST(CEIL(LOG10(TRY_CAST("ttft_ms" AS DOUBLE)) * 232 - 1e-09) AS INT)
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
    g0
) AS cells
GROUP BY
  m,
  s,
  f,
  tf,
  g0;
