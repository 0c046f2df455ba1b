//! The thinker's sparse MoE block: a linear router over all experts, softmax
//! in f32, top-k, optional renormalisation, and a weighted sum of the chosen
//! SwiGLU experts' outputs.
//!
//! Tokens are grouped by expert: each expert that got any token runs once, on
//! the rows routed to it (one gather, three matmuls). Decoding one token thus
//! runs exactly its top-k experts. The weighted outputs of all (token, slot)
//! pairs are then gathered back into `[tokens, k, hidden]` and summed over k,
//! the same order of operations as the reference's grouped path (weight
//! multiply in the activation dtype, then an f32-accumulated sum over k).

use crate::error::{Error, Result};
use crate::nn::{Linear, SwiGluMlp};
use crate::tensor::{DType, Tensor};

pub struct SparseMoe {
    /// `mlp.gate`: router `[num_experts, hidden]`.
    pub gate: Linear,
    pub experts: Vec<SwiGluMlp>,
    pub top_k: usize,
    pub norm_topk_prob: bool,
}

/// Which experts each token goes to, decided on the host (small tensors).
struct Routing {
    /// For expert e: the token rows and their routing weights.
    rows: Vec<Vec<u32>>,
    weights: Vec<Vec<f32>>,
    /// For token t and slot j: where its expert output lands in the
    /// expert-major concatenation of all expert outputs.
    slot_of: Vec<u32>,
}

impl SparseMoe {
    /// `x [n, hidden]` -> (output `[n, hidden]`, router logits `[n, experts]`).
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let n = x.dim(0)?;
        let router_logits = self.gate.forward(x)?;
        let routing = self.route(&router_logits)?;

        let device = x.device();
        let mut parts = Vec::new();
        for (e, rows) in routing.rows.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let ids = Tensor::from_slice(rows, [rows.len()], device)?;
            let y = self.experts[e].forward(&x.gather_rows(&ids)?)?;
            let w = Tensor::from_slice(&routing.weights[e], [rows.len(), 1], device)?
                .to_dtype(x.dtype())?;
            parts.push(y.mul(&w)?);
        }
        let parts: Vec<&Tensor> = parts.iter().collect();
        let all = Tensor::cat(&parts, 0)?; // [n·k, hidden], expert-major
        let slots = Tensor::from_slice(&routing.slot_of, [n, self.top_k], device)?;
        // [n, k, hidden] -> [n, hidden, k] -> sum over k.
        let out = all.gather_rows(&slots)?.transpose(1, 2)?.sum_last()?;
        Ok((out, router_logits))
    }

    fn route(&self, router_logits: &Tensor) -> Result<Routing> {
        let (n, k, num_experts) = (router_logits.dim(0)?, self.top_k, self.experts.len());
        let probs = router_logits.to_dtype(DType::F32)?.softmax()?;
        let (top_p, top_i) = probs.topk_last(k)?;
        let top_p = top_p.to_vec::<f32>()?;
        let top_i = top_i.to_vec::<u32>()?;

        let mut rows = vec![Vec::new(); num_experts];
        let mut weights = vec![Vec::new(); num_experts];
        for t in 0..n {
            let p = &top_p[t * k..(t + 1) * k];
            let sum: f32 = p.iter().sum();
            for j in 0..k {
                let e = top_i[t * k + j] as usize;
                let w = if self.norm_topk_prob {
                    p[j] / sum
                } else {
                    p[j]
                };
                let list = rows
                    .get_mut(e)
                    .ok_or_else(|| Error::invalid(format!("router picked expert {e}")))?;
                list.push(t as u32);
                weights[e].push(w);
            }
        }

        // Slot positions in expert-major order, matching the concatenation.
        let mut slot_of = vec![0u32; n * k];
        let mut seen = vec![0usize; num_experts];
        let mut start = vec![0usize; num_experts];
        for e in 1..num_experts {
            start[e] = start[e - 1] + rows[e - 1].len();
        }
        for t in 0..n {
            for j in 0..k {
                let e = top_i[t * k + j] as usize;
                slot_of[t * k + j] = (start[e] + seen[e]) as u32;
                seen[e] += 1;
            }
        }
        Ok(Routing {
            rows,
            weights,
            slot_of,
        })
    }
}
