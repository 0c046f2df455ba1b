//! The waveform decoder (qwen3-omni.md §9 step 4): `CausalConv(hidden →
//! decoder_dim, k7)`; per rate r a block `SnakeBeta → CausalTransConv(in → in/2,
//! k = 2r, s = r) → 3 residual units (dilation 1, 3, 9)`; then `SnakeBeta →
//! CausalConv(→ 1, k7)`. The clamp to [−1, 1] is applied by the caller.
//!
//! SnakeBeta: `x + 1/(exp(β) + 1e-9) · sin(x·exp(α))²`, α and β per channel in
//! log scale (the tensor op `snake`).

use super::config::Code2WavConfig;
use super::conv::{CausalConv, CausalTransConv};
use super::params::Loader;
use crate::error::Result;
use crate::models::qwen3_omni::weights::Init;
use crate::tensor::Tensor;

pub(crate) struct Snake {
    alpha: Tensor,
    beta: Tensor,
}

impl Snake {
    /// `{prefix}.{alpha,beta} [dim]`.
    pub fn load(l: &mut Loader, prefix: &str, dim: usize) -> Result<Snake> {
        // Random init: Norm (≈ 1) for both log-scales, i.e. frequency ≈ e and
        // magnitude ≈ 1/e.
        Ok(Snake {
            alpha: l.tensor(&format!("{prefix}.alpha"), &[dim], Init::Norm, "[channels]")?,
            beta: l.tensor(&format!("{prefix}.beta"), &[dim], Init::Norm, "[channels]")?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.snake(&self.alpha, &self.beta)
    }
}

/// `x + conv2_k1(Snake(conv1_k7_dil(Snake(x))))`.
pub(crate) struct ResidualUnit {
    act1: Snake,
    conv1: CausalConv,
    act2: Snake,
    conv2: CausalConv,
}

impl ResidualUnit {
    pub fn load(l: &mut Loader, prefix: &str, dim: usize, dilation: usize) -> Result<ResidualUnit> {
        Ok(ResidualUnit {
            act1: Snake::load(l, &format!("{prefix}.act1"), dim)?,
            conv1: CausalConv::load(
                l,
                &format!("{prefix}.conv1"),
                dim,
                dim,
                7,
                dilation,
                1,
                "[out, out, 7]",
            )?,
            act2: Snake::load(l, &format!("{prefix}.act2"), dim)?,
            conv2: CausalConv::load(
                l,
                &format!("{prefix}.conv2"),
                dim,
                dim,
                1,
                1,
                1,
                "[out, out, 1]",
            )?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.conv1.forward(&self.act1.forward(x)?)?;
        let h = self.conv2.forward(&self.act2.forward(&h)?)?;
        h.add(x)
    }
}

/// `decoder.{i}`: `block.0` SnakeBeta, `block.1` trans conv, `block.{2,3,4}` residual units.
pub(crate) struct DecoderBlock {
    snake: Snake,
    tconv: CausalTransConv,
    units: Vec<ResidualUnit>,
}

/// Dilations of the three residual units of every decoder block.
pub const DILATIONS: [usize; 3] = [1, 3, 9];

impl DecoderBlock {
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        rate: usize,
    ) -> Result<DecoderBlock> {
        let mut units = Vec::with_capacity(DILATIONS.len());
        for (j, &d) in DILATIONS.iter().enumerate() {
            units.push(ResidualUnit::load(
                l,
                &format!("{prefix}.block.{}", j + 2),
                c_out,
                d,
            )?);
        }
        Ok(DecoderBlock {
            snake: Snake::load(l, &format!("{prefix}.block.0"), c_in)?,
            tconv: CausalTransConv::load(
                l,
                &format!("{prefix}.block.1"),
                c_in,
                c_out,
                2 * rate,
                rate,
                "[in, in/2, 2·rate]",
            )?,
            units,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = self.tconv.forward(&self.snake.forward(x)?)?;
        for u in &self.units {
            h = u.forward(&h)?;
        }
        Ok(h)
    }
}

pub(crate) struct Decoder {
    conv_in: CausalConv,
    blocks: Vec<DecoderBlock>,
    snake: Snake,
    conv_out: CausalConv,
}

impl Decoder {
    /// `{prefix}.0` conv, `{prefix}.{1..=n}` blocks, `{prefix}.{n+1}` Snake, `{prefix}.{n+2}` conv.
    pub fn load(l: &mut Loader, prefix: &str, cfg: &Code2WavConfig) -> Result<Decoder> {
        let n = cfg.upsample_rates.len();
        let conv_in = CausalConv::load(
            l,
            &format!("{prefix}.0"),
            cfg.hidden_size,
            cfg.decoder_dim,
            7,
            1,
            1,
            "[decoder_dim, hidden_size, 7]",
        )?;
        let mut blocks = Vec::with_capacity(n);
        for (i, &r) in cfg.upsample_rates.iter().enumerate() {
            blocks.push(DecoderBlock::load(
                l,
                &format!("{prefix}.{}", i + 1),
                cfg.decoder_channels(i),
                cfg.decoder_channels(i + 1),
                r,
            )?);
        }
        let c = cfg.decoder_channels(n);
        Ok(Decoder {
            conv_in,
            blocks,
            snake: Snake::load(l, &format!("{prefix}.{}", n + 1), c)?,
            conv_out: CausalConv::load(
                l,
                &format!("{prefix}.{}", n + 2),
                c,
                1,
                7,
                1,
                1,
                "[1, decoder_dim/2^blocks, 7]",
            )?,
        })
    }

    /// Number of stages [`stage`](Self::stage) accepts: conv in, blocks, final snake + conv.
    pub fn num_stages(&self) -> usize {
        self.blocks.len() + 2
    }

    /// Stage `i` alone: 0 the input conv, `1..=n` the blocks, `n + 1` the final
    /// SnakeBeta + conv (before the clamp). `i` must be `< num_stages()`.
    pub fn stage(&self, i: usize, x: &Tensor) -> Result<Tensor> {
        let n = self.blocks.len();
        match i {
            0 => self.conv_in.forward(x),
            i if i <= n => self.blocks[i - 1].forward(x),
            _ => self.conv_out.forward(&self.snake.forward(x)?),
        }
    }

    /// `x [1, hidden, L]` -> (pre-clamp output `[1, 1, L']`, the conv-in output
    /// and every block's output when `trace`).
    pub fn forward(&self, x: &Tensor, trace: bool) -> Result<(Tensor, Vec<Tensor>)> {
        let mut stages = Vec::new();
        let mut h = self.conv_in.forward(x)?;
        if trace {
            stages.push(h.clone());
        }
        for b in &self.blocks {
            h = b.forward(&h)?;
            if trace {
                stages.push(h.clone());
            }
        }
        let out = self.conv_out.forward(&self.snake.forward(&h)?)?;
        Ok((out, stages))
    }
}
