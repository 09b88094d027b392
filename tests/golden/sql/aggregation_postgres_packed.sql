SELECT
  CAST(FLOOR(EXTRACT(EPOCH FROM b) / 60) AS BIGINT) AS m,
  s,
  g0,
  ARRAY_SEND(ARRAY_AGG(k)) AS latency,
  COUNT(*) FILTER(WHERE
    (
      v >= 0 AND v < 1e+300
    ) AND v <= 500.0) AS c0,
  ARRAY_SEND(ARRAY_AGG(tk)) AS ttft
FROM (
  SELECT
    DATE_BIN('1 minute', "ts", CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ)) AS b,
    "status" AS s,
    CASE
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) < 1e+300
      THEN CASE
        WHEN CAST("latency_ms" AS DOUBLE PRECISION) <= 0.001
        THEN -696
        ELSE CAST(CEIL(LOG10(CAST("latency_ms" AS DOUBLE PRECISION)) * 232 - 1e-09) AS INT)
      END
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) IS NULL
      THEN -2147483647
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) < 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) > -1E+300
      THEN -2147483645
      ELSE -2147483646
    END AS k,
    CAST("latency_ms" AS DOUBLE PRECISION) AS v,
    CASE
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("ttft_ms" AS DOUBLE PRECISION) < 1e+300
      THEN CASE
        WHEN CAST("ttft_ms" AS DOUBLE PRECISION) <= 0.001
        THEN -696
        ELSE CAST(CEIL(LOG10(CAST("ttft_ms" AS DOUBLE PRECISION)) * 232 - 1e-09) AS INT)
      END
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) IS NULL
      THEN -2147483647
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) < 0
      AND CAST("ttft_ms" AS DOUBLE PRECISION) > -1E+300
      THEN -2147483645
      ELSE -2147483646
    END AS tk,
    CAST("endpoint" AS TEXT) AS g0
  FROM "requests"
  WHERE
    (
      "ts" >= CAST('2026-09-01 00:00:00+00:00' AS TIMESTAMPTZ)
    )
    AND (
      ctid >= CAST('(0,0)' AS tid) AND ctid < CAST('(4096,0)' AS tid)
    )
) AS r
GROUP BY
  b,
  s,
  g0
UNION ALL
SELECT
  CAST(FLOOR(EXTRACT(EPOCH FROM b) / 60) AS BIGINT) AS m,
  s,
  g0,
  ARRAY_SEND(ARRAY_AGG(k)) AS latency,
  COUNT(*) FILTER(WHERE
    (
      v >= 0 AND v < 1e+300
    ) AND v <= 500.0) AS c0,
  ARRAY_SEND(ARRAY_AGG(tk)) AS ttft
FROM (
  SELECT
    DATE_BIN('1 minute', "ts", CAST('1970-01-01 00:00:00+00' AS TIMESTAMPTZ)) AS b,
    "status" AS s,
    CASE
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) < 1e+300
      THEN CASE
        WHEN CAST("latency_ms" AS DOUBLE PRECISION) <= 0.001
        THEN -696
        ELSE CAST(CEIL(LOG10(CAST("latency_ms" AS DOUBLE PRECISION)) * 232 - 1e-09) AS INT)
      END
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) IS NULL
      THEN -2147483647
      WHEN CAST("latency_ms" AS DOUBLE PRECISION) < 0
      AND CAST("latency_ms" AS DOUBLE PRECISION) > -1E+300
      THEN -2147483645
      ELSE -2147483646
    END AS k,
    CAST("latency_ms" AS DOUBLE PRECISION) AS v,
    CASE
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) >= 0
      AND CAST("ttft_ms" AS DOUBLE PRECISION) < 1e+300
      THEN CASE
        WHEN CAST("ttft_ms" AS DOUBLE PRECISION) <= 0.001
        THEN -696
        ELSE CAST(CEIL(LOG10(CAST("ttft_ms" AS DOUBLE PRECISION)) * 232 - 1e-09) AS INT)
      END
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) IS NULL
      THEN -2147483647
      WHEN CAST("ttft_ms" AS DOUBLE PRECISION) < 0
      AND CAST("ttft_ms" AS DOUBLE PRECISION) > -1E+300
      THEN -2147483645
      ELSE -2147483646
    END AS tk,
    CAST("endpoint" AS TEXT) AS g0
  FROM "requests"
  WHERE
    (
      "ts" >= CAST('2026-09-01 00:00:00+00:00' AS TIMESTAMPTZ)
    )
    AND (
      ctid >= CAST('(4096,0)' AS tid)
    )
) AS r
GROUP BY
  b,
  s,
  g0;
