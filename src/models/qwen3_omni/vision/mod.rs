//! The Qwen3-Omni vision encoder (Qwen3-VL-style ViT, `thinker.visual.*`).
//!
//! Input: already-preprocessed `pixel_values [Σ t·h·w, C·T·P·P]` (rows in the
//! image processor's 2×2-merge-block-major patch order, each row flattened
//! (channel, t, y, x)) and one `[t, h, w]` grid per image/video, in patches.
//!
//! Pipeline: patch embedding (Conv3d as a matmul) + interpolated learned
//! position embedding → `depth` pre-norm blocks with 2-D rotary and
//! per-temporal-slice attention → final merger (2×2 patches → one
//! `out_hidden` token). The DeepStack mergers turn the outputs of the blocks
//! in `deepstack_visual_indexes` into extra `[n_merged, out_hidden]` features.
//!
//! **DeepStack injection** (done by the caller, not here): `deepstack[k]` is
//! added to the thinker's hidden states at the visual token positions right
//! *after* decoder layer `k` (0-based; layers 0, 1, 2 for the released model),
//! as `Qwen3OmniMoeThinkerTextModel._deepstack_process`.
//!
//! Everything runs through the public tensor ops, so it runs on any device.
//! The interpolation taps, rotary angles and segment boundaries are computed on
//! the host from `grid_thw` (they depend on nothing else).

pub mod block;
pub mod config;
pub mod grid;
pub mod merger;
pub mod patch_embed;
pub mod pos_embed;
pub mod rotary;

use std::path::Path;

pub use block::{LayerNorm, VisionBlock};
pub use config::VisionConfig;
pub use grid::VisionGrid;
pub use merger::PatchMerger;
pub use patch_embed::PatchEmbed;
pub use pos_embed::PosEmbed;

use super::weights::{Init, Weights};
use super::Qwen3OmniConfig;
use crate::backend::Device;
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::nn::{Linear, RopeTables};
use crate::tensor::{DType, Tensor};

const PREFIX: &str = "thinker.visual";
const LN_EPS: f32 = 1e-6;

/// What `VisionEncoder::forward` returns.
pub struct VisionOutput {
    /// `[n_merged, out_hidden]`: one token per 2×2 patch block, images in
    /// `grid_thw` order (`t·h·w/4` tokens each).
    pub embeds: Tensor,
    /// One `[n_merged, out_hidden]` feature per DeepStack level, in block order;
    /// `deepstack[k]` goes after decoder layer `k`.
    pub deepstack: Vec<Tensor>,
}

/// Intermediates of one forward pass (tests against the reference).
#[derive(Default)]
pub struct VisionTrace {
    /// Patch embedding output `[n, hidden]`.
    pub patch_embed: Option<Tensor>,
    /// Interpolated position embedding `[n, hidden]`.
    pub pos_embed: Option<Tensor>,
    /// Rotary cos/sin `[n, head_dim]` (f32).
    pub rotary: Option<RopeTables>,
    /// Output of each block `[n, hidden]`.
    pub blocks: Vec<Tensor>,
}

pub struct VisionEncoder {
    config: VisionConfig,
    dtype: DType,
    device: Device,
    patch_embed: PatchEmbed,
    pos_embed: PosEmbed,
    blocks: Vec<VisionBlock>,
    merger: PatchMerger,
    /// Same order as `config.deepstack_visual_indexes`.
    deepstack_mergers: Vec<PatchMerger>,
}

fn linear(w: &mut Weights, prefix: &str, out: usize, inp: usize, why: &str) -> Result<Linear> {
    let weight = w.tensor(&format!("{prefix}.weight"), &[out, inp], Init::FanIn, why)?;
    let bias = w.tensor(&format!("{prefix}.bias"), &[out], Init::FanIn, why)?;
    Linear::new(weight, Some(bias.to_dtype(w.compute_dtype())?))
}

fn layer_norm(w: &mut Weights, prefix: &str, dim: usize, why: &str) -> Result<LayerNorm> {
    let dt = w.compute_dtype();
    Ok(LayerNorm {
        weight: w
            .tensor(&format!("{prefix}.weight"), &[dim], Init::Norm, why)?
            .to_dtype(dt)?,
        bias: w
            .tensor(&format!("{prefix}.bias"), &[dim], Init::FanIn, why)?
            .to_dtype(dt)?,
        eps: LN_EPS,
    })
}

fn merger(w: &mut Weights, prefix: &str, c: &VisionConfig, post: bool) -> Result<PatchMerger> {
    let unit = c.merge_unit();
    let wide = c.hidden_size * unit;
    let ln_dim = if post { wide } else { c.hidden_size };
    Ok(PatchMerger {
        ln_q: layer_norm(
            w,
            &format!("{prefix}.ln_q"),
            ln_dim,
            if post {
                "[hidden_size·spatial_merge_size²]"
            } else {
                "[hidden_size]"
            },
        )?,
        fc1: linear(
            w,
            &format!("{prefix}.mlp.0"),
            wide,
            wide,
            "[hidden_size·merge², hidden_size·merge²]",
        )?,
        fc2: linear(
            w,
            &format!("{prefix}.mlp.2"),
            c.out_hidden_size,
            wide,
            "[out_hidden_size, hidden_size·merge²]",
        )?,
        use_postshuffle_norm: post,
        unit,
    })
}

fn check_compute(dtype: DType, config: &VisionConfig) -> Result<()> {
    if !matches!(dtype, DType::F32 | DType::BF16) {
        return Err(Error::InvalidArgument(format!(
            "vision encoder compute dtype {dtype} is not supported (use f32 or bf16)"
        )));
    }
    config.validate()
}

impl VisionEncoder {
    /// Load `thinker.visual.*` from `checkpoint` (shapes checked against
    /// `config`); activations in `dtype` (F32 or BF16), weights kept as stored.
    pub fn load(
        checkpoint: &Checkpoint,
        config: &VisionConfig,
        device: &Device,
        dtype: DType,
    ) -> Result<VisionEncoder> {
        check_compute(dtype, config)?;
        let mut w = Weights::from_checkpoint(checkpoint, device.clone(), dtype, None);
        VisionEncoder::build(config, &mut w, device, dtype)
    }

    /// Deterministic random weights (fan-in scaled): the demo and benchmarks
    /// that need no files.
    pub fn random(
        config: &VisionConfig,
        seed: u64,
        device: &Device,
        dtype: DType,
    ) -> Result<VisionEncoder> {
        check_compute(dtype, config)?;
        let mut w = Weights::random(seed, device.clone(), dtype, None);
        VisionEncoder::build(config, &mut w, device, dtype)
    }

    fn build(
        config: &VisionConfig,
        w: &mut Weights,
        device: &Device,
        dtype: DType,
    ) -> Result<VisionEncoder> {
        let c = config;
        let p = PREFIX;
        let (hid, inter) = (c.hidden_size, c.intermediate_size);

        let pe_w = w.tensor(
            &format!("{p}.patch_embed.proj.weight"),
            &[
                hid,
                c.in_channels,
                c.temporal_patch_size,
                c.patch_size,
                c.patch_size,
            ],
            Init::FanIn,
            "[hidden_size, in_channels, temporal_patch_size, patch_size, patch_size]",
        )?;
        let pe_b = w
            .tensor(
                &format!("{p}.patch_embed.proj.bias"),
                &[hid],
                Init::FanIn,
                "[hidden_size]",
            )?
            .to_dtype(dtype)?;
        let patch_embed = PatchEmbed::new(&pe_w, pe_b)?;

        let table = w.tensor(
            &format!("{p}.pos_embed.weight"),
            &[c.num_position_embeddings, hid],
            Init::Embedding,
            "[num_position_embeddings, hidden_size]",
        )?;
        let pos_embed = PosEmbed::new(&table, c.pos_grid_side())?;

        let mut blocks = Vec::with_capacity(c.depth);
        for n in 0..c.depth {
            let b = format!("{p}.blocks.{n}");
            blocks.push(VisionBlock {
                norm1: layer_norm(w, &format!("{b}.norm1"), hid, "[hidden_size]")?,
                norm2: layer_norm(w, &format!("{b}.norm2"), hid, "[hidden_size]")?,
                qkv: linear(
                    w,
                    &format!("{b}.attn.qkv"),
                    3 * hid,
                    hid,
                    "[3·hidden_size, hidden_size]",
                )?,
                proj: linear(
                    w,
                    &format!("{b}.attn.proj"),
                    hid,
                    hid,
                    "[hidden_size, hidden_size]",
                )?,
                fc1: linear(
                    w,
                    &format!("{b}.mlp.linear_fc1"),
                    inter,
                    hid,
                    "[intermediate_size, hidden_size]",
                )?,
                fc2: linear(
                    w,
                    &format!("{b}.mlp.linear_fc2"),
                    hid,
                    inter,
                    "[hidden_size, intermediate_size]",
                )?,
                num_heads: c.num_heads,
                head_dim: c.head_dim(),
            });
        }
        let merger_main = merger(w, &format!("{p}.merger"), c, false)?;
        let deepstack_mergers = (0..c.deepstack_visual_indexes.len())
            .map(|k| merger(w, &format!("{p}.merger_list.{k}"), c, true))
            .collect::<Result<Vec<_>>>()?;
        Ok(VisionEncoder {
            config: c.clone(),
            dtype,
            device: device.clone(),
            patch_embed,
            pos_embed,
            blocks,
            merger: merger_main,
            deepstack_mergers,
        })
    }

    /// Load from a checkpoint directory (`config.json` + safetensors).
    pub fn load_dir(dir: &Path, device: &Device, dtype: DType) -> Result<VisionEncoder> {
        let config = Qwen3OmniConfig::from_file(&dir.join("config.json"))?;
        let vision = VisionConfig::from_thinker(&config.thinker_config)?;
        let ckpt = Checkpoint::open(dir)?;
        VisionEncoder::load(&ckpt, &vision, device, dtype)
    }

    pub fn config(&self) -> &VisionConfig {
        &self.config
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Decoder layer (0-based) after which `deepstack[k]` is added: `k`.
    pub fn deepstack_decoder_layers(&self) -> Vec<usize> {
        (0..self.deepstack_mergers.len()).collect()
    }

    /// Check `pixel_values` against `grid_thw`; the validated grid.
    pub fn check_inputs(
        &self,
        pixel_values: &Tensor,
        grid_thw: &[[usize; 3]],
    ) -> Result<VisionGrid> {
        const OP: &str = "vision encoder";
        let grid = VisionGrid::new(grid_thw, self.config.spatial_merge_size)?;
        let want = self.patch_embed.patch_dim();
        if pixel_values.rank() != 2 || pixel_values.dims()[1] != want {
            return Err(Error::Shape {
                op: OP,
                detail: format!(
                    "pixel_values must be [rows, {want}] (in_channels·temporal_patch_size·\
                     patch_size² = {}·{}·{}²), got {:?}",
                    self.config.in_channels,
                    self.config.temporal_patch_size,
                    self.config.patch_size,
                    pixel_values.dims()
                ),
            });
        }
        if !pixel_values.dtype().is_float() {
            return Err(Error::DType {
                op: OP,
                dtype: pixel_values.dtype(),
                hint: "pixel_values must be f32, f16 or bf16".into(),
            });
        }
        let rows = pixel_values.dims()[0];
        if rows != grid.num_patches() {
            return Err(Error::Shape {
                op: OP,
                detail: format!(
                    "pixel_values has {rows} rows but grid_thw {grid_thw:?} describes {} \
                     patches (Σ t·h·w)",
                    grid.num_patches()
                ),
            });
        }
        Ok(grid)
    }

    /// Merged visual embeddings and the DeepStack features.
    pub fn forward(&self, pixel_values: &Tensor, grid_thw: &[[usize; 3]]) -> Result<VisionOutput> {
        self.forward_traced(pixel_values, grid_thw, None)
    }

    /// `forward`, also filling `trace` with the intermediates when given.
    pub fn forward_traced(
        &self,
        pixel_values: &Tensor,
        grid_thw: &[[usize; 3]],
        mut trace: Option<&mut VisionTrace>,
    ) -> Result<VisionOutput> {
        let grid = self.check_inputs(pixel_values, grid_thw)?;
        let pixel_values = pixel_values.to_device(&self.device)?;
        let c = &self.config;

        let patches = self.patch_embed.forward(&pixel_values, self.dtype)?;
        let pos = self.pos_embed.forward(&grid, self.dtype)?;
        let mut x = patches.add(&pos)?;
        let rope = rotary::rot_pos_emb(&grid, c.head_dim(), c.rope_theta(), &self.device)?;
        let cu_seqlens = grid.cu_seqlens();

        let mut deepstack = Vec::with_capacity(self.deepstack_mergers.len());
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(&x, &rope, &cu_seqlens)?;
            if let Some(k) = c.deepstack_visual_indexes.iter().position(|&l| l == i) {
                deepstack.push(self.deepstack_mergers[k].forward(&x)?);
            }
            if let Some(t) = trace.as_deref_mut() {
                t.blocks.push(x.clone());
            }
        }
        let embeds = self.merger.forward(&x)?;
        if let Some(t) = trace {
            t.patch_embed = Some(patches);
            t.pos_embed = Some(pos);
            t.rotary = Some(rope);
        }
        Ok(VisionOutput { embeds, deepstack })
    }
}
