"""Presets for the latency histograms that generative-serving servers export to Prometheus.

Each preset names the histograms for sloview's latency columns (end-to-end, time to first
token, time per output token), the label that tells failures apart (if the server has one)
and the label that names the model. Names as the servers document them:

- vLLM (`/metrics`, V1 engine): `vllm:e2e_request_latency_seconds`,
  `vllm:time_to_first_token_seconds` and `vllm:request_time_per_output_token_seconds` (one
  observation per request: that request's mean time per output token, which is what
  sloview's TPOT is). The older `vllm:time_per_output_token_seconds` (renamed
  `vllm:inter_token_latency_seconds`) observes every token, so its counts are tokens, not
  requests: give it with `--tpot-histogram` only knowing that. Label `model_name`; the
  latency histograms have no status label (only finished requests are observed).
- Hugging Face TGI: `tgi_request_duration` (end to end) and
  `tgi_request_mean_time_per_token_duration` (mean time per token, per request); TGI has no
  time-to-first-token histogram and observes successful requests only (failures are the
  `tgi_request_failure` counter).
- OpenTelemetry GenAI semantic conventions, as the OpenTelemetry Prometheus exporter names
  them (dots to underscores, unit suffix): `gen_ai_server_request_duration_seconds`,
  `gen_ai_server_time_to_first_token_seconds`, `gen_ai_server_time_per_output_token_seconds`;
  a failed request carries `error_type` (`error.type`), a successful one none; model label
  `gen_ai_request_model`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sloview.errors import SourceError
from sloview.ingest.table import LATENCY, TPOT, TTFT


@dataclass(frozen=True, kw_only=True, slots=True)
class Preset:
    """The histograms and labels of one kind of server."""

    name: str
    title: str
    latency: str
    ttft: str | None
    tpot: str | None
    status_label: str | None
    # Status values that count as good when the label is present (OTel: none, i.e. absent).
    good: tuple[str, ...]
    model_label: str | None
    note: str

    def histogram_of(self, column: str) -> str | None:
        """This server's histogram for a sloview latency column, if it has one."""
        return {LATENCY: self.latency, TTFT: self.ttft, TPOT: self.tpot}.get(column)


PRESETS: dict[str, Preset] = {
    "vllm": Preset(
        name="vllm",
        title="vLLM",
        latency="vllm:e2e_request_latency_seconds",
        ttft="vllm:time_to_first_token_seconds",
        tpot="vllm:request_time_per_output_token_seconds",
        status_label=None,
        good=(),
        model_label="model_name",
        note="vLLM observes finished requests only: availability needs another source.",
    ),
    "tgi": Preset(
        name="tgi",
        title="Hugging Face TGI",
        latency="tgi_request_duration",
        ttft=None,
        tpot="tgi_request_mean_time_per_token_duration",
        status_label=None,
        good=(),
        model_label=None,
        note="TGI exports no time-to-first-token histogram and observes successful requests only.",
    ),
    "otel-genai": Preset(
        name="otel-genai",
        title="OpenTelemetry GenAI",
        latency="gen_ai_server_request_duration_seconds",
        ttft="gen_ai_server_time_to_first_token_seconds",
        tpot="gen_ai_server_time_per_output_token_seconds",
        status_label="error_type",
        good=("",),
        model_label="gen_ai_request_model",
        note="A request is failed when it carries error_type (error.type).",
    ),
}


def preset(name: str) -> Preset:
    """The preset of this name, or a clear refusal naming those there are."""
    found = PRESETS.get(name)
    if found is None:
        raise SourceError(
            f"{name!r} is not a preset",
            where="--preset",
            hint=f"use one of {', '.join(PRESETS)}",
        )
    return found
