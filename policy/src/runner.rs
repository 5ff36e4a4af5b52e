//! The exported decoder under ONNX Runtime: one forward pass over a batch of sequences,
//! each with its own host-side KV cache.
//!
//! Layout of one batched call (the GenAI export's contract, verified in RECIPES §2):
//! every row's cached slots sit at `0..p_b`, then a gap up to the longest cache `P`
//! (attention mask 0), then the row's new tokens at `P..P+n_b`, right-padded to the longest
//! `S` (mask 0). Positions are the row's own token count, so gaps never shift RoPE. The
//! same call therefore does batched prefill (all `p_b = 0`), decode (`n_b = 1`) and a mix
//! of both, which is what continuous batching needs. The new slots of `present.*` are
//! copied back into each row's cache; the gap is never stored.
//!
//! KV caches and logits are converted from and to the element type the graph declares
//! (fp32, fp16 or bf16); host copies are f32 (exact for all three).

use std::path::Path;

use half::{bf16, f16};
use ort::session::Session;
use ort::value::{DynValue, Tensor, TensorElementType};

use crate::error::{PolicyError, Result};
use crate::model_dir::{DecoderSection, ModelDir};
use crate::runtime::ExecutionProvider;

/// How to build the ONNX Runtime session.
#[derive(Debug, Clone, Default)]
pub struct RunnerOptions {
    pub execution_provider: ExecutionProvider,
    /// Intra-op threads; `None` lets ONNX Runtime choose (all cores).
    pub intra_threads: Option<usize>,
}

/// Host copy of one sequence's keys and values: `[layer][kv_head]` -> `len * head_dim` f32.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    len: usize,
    keys: Vec<Vec<Vec<f32>>>,
    values: Vec<Vec<Vec<f32>>>,
}

impl KvCache {
    /// Number of cached token slots.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn ensure_shape(&mut self, layers: usize, kv_heads: usize) {
        if self.keys.len() != layers {
            self.keys = vec![vec![Vec::new(); kv_heads]; layers];
            self.values = vec![vec![Vec::new(); kv_heads]; layers];
            self.len = 0;
        }
    }
}

/// One row of a batched forward pass: tokens not yet in the cache, and the cache.
pub struct Row<'a> {
    pub new_tokens: &'a [u32],
    pub cache: &'a mut KvCache,
}

/// Input/output names of the graph, expanded from the config's `%d` patterns.
#[derive(Debug, Clone)]
struct IoNames {
    input_ids: String,
    attention_mask: String,
    position_ids: Option<String>,
    past: Vec<(String, String)>,
    logits: String,
    present: Vec<(String, String)>,
}

/// A loaded exported decoder.
pub struct OnnxModel {
    session: Session,
    names: IoNames,
    kv_type: TensorElementType,
    logits_type: TensorElementType,
    layers: usize,
    kv_heads: usize,
    head_dim: usize,
    vocab_size: usize,
    context_length: usize,
    pad_token_id: u32,
    execution_provider: ExecutionProvider,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("layers", &self.layers)
            .field("kv_heads", &self.kv_heads)
            .field("head_dim", &self.head_dim)
            .field("kv_type", &self.kv_type)
            .field("logits_type", &self.logits_type)
            .field("execution_provider", &self.execution_provider)
            .finish()
    }
}

impl OnnxModel {
    /// Loads `dir`'s graph and checks it against `genai_config.json`.
    pub fn load(dir: &ModelDir, options: &RunnerOptions) -> Result<Self> {
        let session = build_session(&dir.model_path(), options)?;
        let dec = &dir.config.model.decoder;
        let names = IoNames {
            input_ids: dec.inputs.input_ids.clone(),
            attention_mask: dec.inputs.attention_mask.clone(),
            position_ids: dec.inputs.position_ids.clone(),
            past: (0..dec.num_hidden_layers)
                .map(|l| {
                    (
                        DecoderSection::layer_name(&dec.inputs.past_key_names, l),
                        DecoderSection::layer_name(&dec.inputs.past_value_names, l),
                    )
                })
                .collect(),
            logits: dec.outputs.logits.clone(),
            present: (0..dec.num_hidden_layers)
                .map(|l| {
                    (
                        DecoderSection::layer_name(&dec.outputs.present_key_names, l),
                        DecoderSection::layer_name(&dec.outputs.present_value_names, l),
                    )
                })
                .collect(),
        };
        let input_type = |name: &str| -> Result<TensorElementType> {
            session
                .inputs()
                .iter()
                .find(|o| o.name() == name)
                .and_then(|o| o.dtype().tensor_type())
                .ok_or_else(|| {
                    PolicyError::Config(format!(
                        "the graph has no tensor input {name:?} named by genai_config.json"
                    ))
                })
        };
        let output_type = |name: &str| -> Result<TensorElementType> {
            session
                .outputs()
                .iter()
                .find(|o| o.name() == name)
                .and_then(|o| o.dtype().tensor_type())
                .ok_or_else(|| {
                    PolicyError::Config(format!(
                        "the graph has no tensor output {name:?} named by genai_config.json"
                    ))
                })
        };
        input_type(&names.input_ids)?;
        input_type(&names.attention_mask)?;
        if let Some(p) = &names.position_ids {
            input_type(p)?;
        }
        let kv_type = input_type(&names.past[0].0)?;
        for ((pk, pv), (ok, ov)) in names.past.iter().zip(&names.present) {
            for t in [
                input_type(pk)?,
                input_type(pv)?,
                output_type(ok)?,
                output_type(ov)?,
            ] {
                if t != kv_type {
                    return Err(PolicyError::Config(format!(
                        "mixed KV cache element types ({t:?} vs {kv_type:?})"
                    )));
                }
            }
        }
        let logits_type = output_type(&names.logits)?;
        for t in [kv_type, logits_type] {
            if !matches!(
                t,
                TensorElementType::Float32
                    | TensorElementType::Float16
                    | TensorElementType::Bfloat16
            ) {
                return Err(PolicyError::Config(format!(
                    "unsupported element type {t:?} (expected fp32, fp16 or bf16)"
                )));
            }
        }
        tracing::debug!(?kv_type, ?logits_type, ep = %options.execution_provider, "loaded {}", dir.model_path().display());
        Ok(OnnxModel {
            session,
            names,
            kv_type,
            logits_type,
            layers: dec.num_hidden_layers,
            kv_heads: dec.num_key_value_heads,
            head_dim: dec.head_size,
            vocab_size: dir.config.model.vocab_size,
            context_length: dir.config.model.context_length,
            pad_token_id: dir.config.model.pad_token_id,
            execution_provider: options.execution_provider,
        })
    }

    pub fn kv_type(&self) -> TensorElementType {
        self.kv_type
    }
    pub fn logits_type(&self) -> TensorElementType {
        self.logits_type
    }
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }
    pub fn context_length(&self) -> usize {
        self.context_length
    }
    pub fn execution_provider(&self) -> ExecutionProvider {
        self.execution_provider
    }

    /// Runs the new tokens of every row through the graph, appends their keys/values to the
    /// rows' caches and returns, per row, the logits at its last new token.
    pub fn forward(&mut self, rows: &mut [Row<'_>]) -> Result<Vec<Vec<f32>>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let (layers, kv, d) = (self.layers, self.kv_heads, self.head_dim);
        for row in rows.iter_mut() {
            if row.new_tokens.is_empty() {
                return Err(PolicyError::InvalidRequest(
                    "a row has no new tokens".into(),
                ));
            }
            if row.cache.len + row.new_tokens.len() > self.context_length {
                return Err(PolicyError::InvalidRequest(format!(
                    "{} tokens exceed the model's context length {}",
                    row.cache.len + row.new_tokens.len(),
                    self.context_length
                )));
            }
            if let Some(&bad) = row
                .new_tokens
                .iter()
                .find(|&&t| t as usize >= self.vocab_size)
            {
                return Err(PolicyError::InvalidRequest(format!(
                    "token id {bad} is outside the vocabulary ({})",
                    self.vocab_size
                )));
            }
            row.cache.ensure_shape(layers, kv);
        }
        let b = rows.len();
        let s = rows.iter().map(|r| r.new_tokens.len()).max().unwrap_or(1);
        let p = rows.iter().map(|r| r.cache.len).max().unwrap_or(0);
        let t = p + s;

        let mut ids = vec![self.pad_token_id as i64; b * s];
        let mut mask = vec![0i64; b * t];
        let mut pos = vec![0i64; b * s];
        for (bi, row) in rows.iter().enumerate() {
            mask[bi * t..bi * t + row.cache.len].fill(1);
            for (i, &tok) in row.new_tokens.iter().enumerate() {
                ids[bi * s + i] = tok as i64;
                mask[bi * t + p + i] = 1;
                pos[bi * s + i] = (row.cache.len + i) as i64;
            }
        }
        let mut inputs: Vec<(String, DynValue)> = Vec::with_capacity(3 + 2 * layers);
        inputs.push((
            self.names.input_ids.clone(),
            int_tensor(vec![b as i64, s as i64], ids)?,
        ));
        inputs.push((
            self.names.attention_mask.clone(),
            int_tensor(vec![b as i64, t as i64], mask)?,
        ));
        if let Some(name) = &self.names.position_ids {
            inputs.push((name.clone(), int_tensor(vec![b as i64, s as i64], pos)?));
        }
        let past_shape = vec![b as i64, kv as i64, p as i64, d as i64];
        for l in 0..layers {
            for (is_key, name) in [
                (true, &self.names.past[l].0),
                (false, &self.names.past[l].1),
            ] {
                let mut data = vec![0f32; b * kv * p * d];
                for (bi, row) in rows.iter().enumerate() {
                    let src = if is_key {
                        &row.cache.keys[l]
                    } else {
                        &row.cache.values[l]
                    };
                    for (h, head) in src.iter().enumerate() {
                        let off = (bi * kv + h) * p * d;
                        data[off..off + head.len()].copy_from_slice(head);
                    }
                }
                inputs.push((
                    name.clone(),
                    float_tensor(self.kv_type, past_shape.clone(), data)?,
                ));
            }
        }

        let outputs = self
            .session
            .run(inputs)
            .map_err(|e| PolicyError::ort("running the decoder", e))?;

        let logits = outputs
            .get(&self.names.logits)
            .ok_or_else(|| PolicyError::Config(format!("no output {:?}", self.names.logits)))?;
        let logits = FloatView::of(logits, self.logits_type)?;
        let v = self.vocab_size;
        if logits.len() != b * s * v {
            return Err(PolicyError::Config(format!(
                "logits have {} values, expected {b}x{s}x{v} (is vocab_size right?)",
                logits.len()
            )));
        }
        let mut last_logits = Vec::with_capacity(b);
        for (bi, row) in rows.iter().enumerate() {
            let start = (bi * s + row.new_tokens.len() - 1) * v;
            last_logits.push(logits.to_f32(start, v));
        }
        for l in 0..layers {
            for (is_key, name) in [
                (true, &self.names.present[l].0),
                (false, &self.names.present[l].1),
            ] {
                let value = outputs
                    .get(name)
                    .ok_or_else(|| PolicyError::Config(format!("no output {name:?}")))?;
                let present = FloatView::of(value, self.kv_type)?;
                if present.len() != b * kv * t * d {
                    return Err(PolicyError::Config(format!(
                        "{name} has {} values, expected {b}x{kv}x{t}x{d}",
                        present.len()
                    )));
                }
                for (bi, row) in rows.iter_mut().enumerate() {
                    let n = row.new_tokens.len();
                    let dst = if is_key {
                        &mut row.cache.keys[l]
                    } else {
                        &mut row.cache.values[l]
                    };
                    for (h, head) in dst.iter_mut().enumerate() {
                        let off = ((bi * kv + h) * t + p) * d;
                        present.extend_f32(head, off, n * d);
                    }
                }
            }
        }
        for row in rows.iter_mut() {
            row.cache.len += row.new_tokens.len();
        }
        Ok(last_logits)
    }
}

fn build_session(model: &Path, options: &RunnerOptions) -> Result<Session> {
    Ok(simweb_onnx::session(
        model,
        &simweb_onnx::SessionOptions {
            execution_provider: options.execution_provider,
            intra_threads: options.intra_threads,
        },
    )?)
}

fn int_tensor(shape: Vec<i64>, data: Vec<i64>) -> Result<DynValue> {
    Ok(Tensor::from_array((shape, data))
        .map_err(|e| PolicyError::ort("creating an int64 tensor", e))?
        .into_dyn())
}

fn float_tensor(ty: TensorElementType, shape: Vec<i64>, data: Vec<f32>) -> Result<DynValue> {
    let value = match ty {
        TensorElementType::Float32 => Tensor::from_array((shape, data)).map(|t| t.into_dyn()),
        TensorElementType::Float16 => Tensor::from_array((
            shape,
            data.into_iter().map(f16::from_f32).collect::<Vec<_>>(),
        ))
        .map(|t| t.into_dyn()),
        TensorElementType::Bfloat16 => Tensor::from_array((
            shape,
            data.into_iter().map(bf16::from_f32).collect::<Vec<_>>(),
        ))
        .map(|t| t.into_dyn()),
        other => {
            return Err(PolicyError::Config(format!(
                "unsupported element type {other:?}"
            )))
        }
    };
    value.map_err(|e| PolicyError::ort("creating a KV tensor", e))
}

/// A borrowed float output in its declared element type.
enum FloatView<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    Bf16(&'a [bf16]),
}

impl<'a> FloatView<'a> {
    fn of(value: &'a DynValue, ty: TensorElementType) -> Result<Self> {
        let err = |e: ort::Error| PolicyError::ort("reading an output tensor", e);
        Ok(match ty {
            TensorElementType::Float32 => {
                FloatView::F32(value.try_extract_tensor::<f32>().map_err(err)?.1)
            }
            TensorElementType::Float16 => {
                FloatView::F16(value.try_extract_tensor::<f16>().map_err(err)?.1)
            }
            TensorElementType::Bfloat16 => {
                FloatView::Bf16(value.try_extract_tensor::<bf16>().map_err(err)?.1)
            }
            other => {
                return Err(PolicyError::Config(format!(
                    "unsupported element type {other:?}"
                )))
            }
        })
    }

    fn len(&self) -> usize {
        match self {
            FloatView::F32(s) => s.len(),
            FloatView::F16(s) => s.len(),
            FloatView::Bf16(s) => s.len(),
        }
    }

    fn to_f32(&self, start: usize, len: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(len);
        self.extend_f32(&mut out, start, len);
        out
    }

    fn extend_f32(&self, out: &mut Vec<f32>, start: usize, len: usize) {
        match self {
            FloatView::F32(s) => out.extend_from_slice(&s[start..start + len]),
            FloatView::F16(s) => out.extend(s[start..start + len].iter().map(|x| x.to_f32())),
            FloatView::Bf16(s) => out.extend(s[start..start + len].iter().map(|x| x.to_f32())),
        }
    }
}
