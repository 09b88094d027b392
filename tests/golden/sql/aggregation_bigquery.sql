-- sloview per-minute aggregation, bigquery: latency with exact counts at 500 ms (lte) and 2000 ms (lt)
SELECT
  m,
  s,
  f,
  g0,
  CAST(SUM(cells.n) AS INT64) AS n,
  CAST(SUM(cells.c0) AS INT64) AS c0,
  CAST(SUM(cells.c1) AS INT64) AS c1,
  ARRAY_AGG(
    CAST(CASE
      WHEN cells.k = -2147483648
      THEN cells.n * 131072
      ELSE cells.n * 131072 + cells.k + 1000
    END AS INT64)
  ) AS cells
FROM (
  SELECT
    b AS m,
    s,
    f,
    k,
    g0,
    CAST(COUNT(*) AS INT64) AS n,
    CAST(SUM(CASE WHEN (
      v >= 0 AND v < 1e+300
    ) AND v <= 500.0 THEN 1 ELSE 0 END) AS INT64) AS c0,
    CAST(SUM(CASE WHEN (
      v >= 0 AND v < 1e+300
    ) AND v < 2000.0 THEN 1 ELSE 0 END) AS INT64) AS c1
  FROM (
    SELECT
      CAST(FLOOR(UNIX_MICROS(`ts`) / 60000000) AS INT64) AS b,
      `status` AS s,
      CASE
        WHEN CAST(`latency_ms` AS FLOAT64) IS NULL
        THEN 1
        WHEN CAST(`latency_ms` AS FLOAT64) >= 0 AND CAST(`latency_ms` AS FLOAT64) < 1e+300
        THEN 0
        WHEN CAST(`latency_ms` AS FLOAT64) < 0 AND CAST(`latency_ms` AS FLOAT64) > -1E+300
        THEN 3
        ELSE 2
      END AS f,
      CASE
        WHEN CAST(`latency_ms` AS FLOAT64) >= 0 AND CAST(`latency_ms` AS FLOAT64) < 1e+300
        THEN CASE
          WHEN CAST(`latency_ms` AS FLOAT64) <= 0.001
          THEN -696
          ELSE CAST(CEIL(LOG10(CAST(`latency_ms` AS FLOAT64)) * 232 - 1e-09) AS INT64)
        END
        ELSE -2147483648
      END AS k,
      CAST(`latency_ms` AS FLOAT64) AS v,
      CAST(`endpoint` AS STRING) AS g0
    FROM `logs`.`requests`
    WHERE
      `ts` >= CAST('2026-09-01 00:00:00+00:00' AS TIMESTAMP)
      AND `ts` < CAST('2026-10-01 00:00:00+00:00' AS TIMESTAMP)
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
  CAST(SUM(cells.n) AS INT64) AS n,
  ARRAY_AGG(
    CAST(CASE
      WHEN cells.k = -2147483648
      THEN cells.n * 131072
      ELSE cells.n * 131072 + cells.k + 1000
    END AS INT64)
  ) AS cells
FROM (
  SELECT
    b AS m,
    s,
    f,
    tf,
    k,
    g0,
    CAST(COUNT(*) AS INT64) AS n
  FROM (
    SELECT
      CAST(FLOOR(UNIX_MICROS(`ts`) / 60000000) AS INT64) AS b,
      `status` AS s,
      CASE
        WHEN CAST(`latency_ms` AS FLOAT64) IS NULL
        THEN 1
        WHEN CAST(`latency_ms` AS FLOAT64) >= 0 AND CAST(`latency_ms` AS FLOAT64) < 1e+300
        THEN 0
        WHEN CAST(`latency_ms` AS FLOAT64) < 0 AND CAST(`latency_ms` AS FLOAT64) > -1E+300
        THEN 3
        ELSE 2
      END AS f,
      CASE
        WHEN CAST(`ttft_ms` AS FLOAT64) IS NULL
        THEN 1
        WHEN CAST(`ttft_ms` AS FLOAT64) >= 0 AND CAST(`ttft_ms` AS FLOAT64) < 1e+300
        THEN 0
        WHEN CAST(`ttft_ms` AS FLOAT64) < 0 AND CAST(`ttft_ms` AS FLOAT64) > -1E+300
        THEN 3
        ELSE 2
      END AS tf,
      CASE
        WHEN CAST(`ttft_ms` AS FLOAT64) >= 0 AND CAST(`ttft_ms` AS FLOAT64) < 1e+300
        THEN CASE
          WHEN CAST(`ttft_ms` AS FLOAT64) <= 0.001
          THEN -696
          ELSE CAST(CEIL(LOG10(CAST(`ttft_ms` AS FLOAT64)) * 232 - 1e-09) AS INT64)
        END
        ELSE -2147483648
      END AS k,
      CAST(`endpoint` AS STRING) AS g0
    FROM `logs`.`requests`
    WHERE
      `ts` >= CAST('2026-09-01 00:00:00+00:00' AS TIMESTAMP)
      AND `ts` < CAST('2026-10-01 00:00:00+00:00' AS TIMESTAMP)
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
