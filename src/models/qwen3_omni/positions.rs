//! Rotary positions of the thinker. Positions have three rows (t, h, w) for
//! the interleaved M-RoPE; for text all three are equal (the next positions
//! after what the KV cache holds), which makes it plain 1-D RoPE.

use crate::backend::Device;
use crate::error::Result;
use crate::models::qwen3_omni::TextConfig;
use crate::nn::{mrope_interleaved_tables, RopeTables};
use crate::tensor::DType;

/// `[t, h, w]` rows, one float per token (video t positions can be fractional).
pub type Positions = [Vec<f32>; 3];

/// Text positions `start .. start + n` on all three rows.
pub fn text_positions(start: usize, n: usize) -> Positions {
    let row: Vec<f32> = (start..start + n).map(|p| p as f32).collect();
    [row.clone(), row.clone(), row]
}

/// cos/sin tables `[n, head_dim]` for `positions`. With bf16 activations the
/// reference rounds the tables to bf16 before applying them; so do we.
pub fn rope_for(
    positions: &Positions,
    config: &TextConfig,
    compute: DType,
    device: &Device,
) -> Result<RopeTables> {
    let tables = mrope_interleaved_tables(
        [&positions[0], &positions[1], &positions[2]],
        &config.mrope_section(),
        config.head_dim(),
        config.rope_theta(),
        device,
    )?;
    if compute == DType::F32 {
        return Ok(tables);
    }
    Ok(RopeTables {
        cos: tables.cos.to_dtype(compute)?,
        sin: tables.sin.to_dtype(compute)?,
    })
}
