-- sloview per-minute aggregation, sqlite: latency with exact counts at 500 ms (lte) and 2000 ms (lt)
SELECT
  b AS m,
  s,
  f,
  k,
  g0,
  CAST(COUNT(*) AS INTEGER) AS n,
  CAST(SUM(CASE WHEN (
    v >= 0 AND v < 1e+300
  ) AND v <= 500.0 THEN 1 ELSE 0 END) AS INTEGER) AS c0,
  CAST(SUM(CASE WHEN (
    v >= 0 AND v < 1e+300
  ) AND v < 2000.0 THEN 1 ELSE 0 END) AS INTEGER) AS c1
FROM (
  SELECT
    CAST((CAST(strftime('%s', "ts") AS INTEGER) / 60) AS INTEGER) AS b,
    "status" AS s,
    CASE
      WHEN "latency_ms" IS NULL
      THEN 1
      WHEN "latency_ms" >= 0 AND "latency_ms" < 1e+300
      THEN 0
      WHEN "latency_ms" < 0 AND "latency_ms" > -1E+300
      THEN 3
      ELSE 2
    END AS f,
    CASE
      WHEN "latency_ms" >= 0 AND "latency_ms" < 1e+300
      THEN CASE
        WHEN "latency_ms" <= 0.001
        THEN -696
        ELSE CAST(CEIL(LOG10("latency_ms") * 232 - 1e-09) AS INTEGER)
      END
      ELSE -2147483648
    END AS k,
    "latency_ms" AS v,
    CAST("endpoint" AS TEXT) AS g0
  FROM "logs"."requests"
  WHERE
    CAST(strftime('%s', "ts") AS INTEGER) >= 1788220800
    AND CAST(strftime('%s', "ts") AS INTEGER) < 1790812800
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
  CAST(COUNT(*) AS INTEGER) AS n
FROM (
  SELECT
    CAST((CAST(strftime('%s', "ts") AS INTEGER) / 60) AS INTEGER) AS b,
    "status" AS s,
    CASE
      WHEN "latency_ms" IS NULL
      THEN 1
      WHEN "latency_ms" >= 0 AND "latency_ms" < 1e+300
      THEN 0
      WHEN "latency_ms" < 0 AND "latency_ms" > -1E+300
      THEN 3
      ELSE 2
    END AS f,
    CASE
      WHEN "ttft_ms" IS NULL
      THEN 1
      WHEN "ttft_ms" >= 0 AND "ttft_ms" < 1e+300
      THEN 0
      WHEN "ttft_ms" < 0 AND "ttft_ms" > -1E+300
      THEN 3
      ELSE 2
    END AS tf,
    CASE
      WHEN "ttft_ms" >= 0 AND "ttft_ms" < 1e+300
      THEN CASE
        WHEN "ttft_ms" <= 0.001
        THEN -696
        ELSE CAST(CEIL(LOG10("ttft_ms") * 232 - 1e-09) AS INTEGER)
      END
      ELSE -2147483648
    END AS k,
    CAST("endpoint" AS TEXT) AS g0
  FROM "logs"."requests"
  WHERE
    CAST(strftime('%s', "ts") AS INTEGER) >= 1788220800
    AND CAST(strftime('%s', "ts") AS INTEGER) < 1790812800
) AS r
GROUP BY
  b,
  s,
  f,
  tf,
  k,
  g0;
