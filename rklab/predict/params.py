"""Parameter counts from architecture (dense, MoE, tied/untied head, VLM = LLM + vision tower).

Decoder layer (Qwen3 / Llama style, no biases):
  attention  q: hidden x heads*head_dim, k and v: hidden x kv_heads*head_dim, o: heads*head_dim x hidden
  qk_norm    Qwen3 only: q_norm and k_norm of head_dim each
  norms      input and post-attention RMSNorm: 2 x hidden
  mlp        dense: gate, up, down = 3 x hidden x intermediate
             MoE:   experts x 3 x hidden x moe_intermediate + router hidden x experts
Model: embedding vocab x hidden + layers + final norm hidden + lm_head vocab x hidden (untied only).
"""

from __future__ import annotations

from dataclasses import dataclass

from rklab.predict.catalog import ModelSpec


@dataclass(frozen=True)
class ParamCounts:
    embedding: int           # input embedding table
    head: int                # separate lm_head (0 when tied to the embedding)
    attention: int           # all layers
    mlp: int                 # all layers, dense MLP or all experts
    router: int              # MoE routers
    norms: int               # RMSNorms incl. q/k norms and the final norm
    expert_active_mlp: int   # MLP weights one token reads (dense: = mlp; MoE: experts_per_token experts)
    vision: int              # vision tower + projector (0 for an LLM)

    @property
    def llm(self) -> int:
        return self.embedding + self.head + self.attention + self.mlp + self.router + self.norms

    @property
    def total(self) -> int:
        return self.llm + self.vision

    @property
    def non_embedding(self) -> int:
        return self.llm - self.embedding

    @property
    def active(self) -> int:
        """LLM parameters used per token (MoE: routed experts only); includes the embedding table."""
        return self.llm - self.mlp + self.expert_active_mlp


def count(spec: ModelSpec) -> ParamCounts:
    h, L = spec.hidden, spec.layers
    q = spec.heads * spec.head_dim
    kv = spec.kv_heads * spec.head_dim
    attention = L * (h * q + 2 * h * kv + q * h)
    norms = L * (2 * h + (2 * spec.head_dim if spec.qk_norm else 0)) + h
    if spec.is_moe:
        per_expert = 3 * h * spec.moe_intermediate
        mlp = L * spec.experts * per_expert
        active_mlp = L * spec.experts_per_token * per_expert
        router = L * h * spec.experts
    else:
        mlp = active_mlp = L * 3 * h * spec.intermediate
        router = 0
    embedding = spec.vocab * h
    head = 0 if spec.tie_embeddings else spec.vocab * h
    vision = spec.vision.params if spec.vision else 0
    return ParamCounts(embedding=embedding, head=head, attention=attention, mlp=mlp, router=router,
                       norms=norms, expert_active_mlp=active_mlp, vision=vision)


def quantized_output_channels(spec: ModelSpec) -> int:
    """Output rows of all quantized matrices (linear layers + the output head): one scale each
    for per-channel w8a8. MoE: every expert's rows and the router's."""
    h, L = spec.hidden, spec.layers
    q = spec.heads * spec.head_dim
    kv = spec.kv_heads * spec.head_dim
    attn_rows = q + 2 * kv + h
    if spec.is_moe:
        mlp_rows = spec.experts * (2 * spec.moe_intermediate + h) + spec.experts
    else:
        mlp_rows = 2 * spec.intermediate + h
    return L * (attn_rows + mlp_rows) + spec.vocab


def compute_params(spec: ModelSpec) -> int:
    """Parameters multiplied per token (matrices incl. the head; MoE: routed experts only).
    The input-embedding lookup is not compute; a tied model's table is its head, so it stays."""
    c = count(spec)
    return c.active - (c.embedding if c.head else 0)
