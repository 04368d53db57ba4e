//! The safetensors container: a u64 little-endian header length, a JSON header of tensor
//! names, dtypes, shapes and byte ranges (plus `__metadata__`), then the raw little-endian data.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Named F32 tensors to write: (name, shape, values).
pub(super) type Tensors<'a> = Vec<(String, Vec<usize>, &'a [f32])>;

/// Safetensors bytes of `tensors` with `meta` as `__metadata__`.
pub(super) fn encode(tensors: &Tensors, meta: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), json!(meta));
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let begin = data.len();
        for v in values.iter() {
            data.extend_from_slice(&v.to_le_bytes());
        }
        header.insert(
            name.clone(),
            json!({"dtype": "F32", "shape": shape, "data_offsets": [begin, data.len()]}),
        );
    }
    let mut text = serde_json::to_vec(&Value::Object(header)).expect("header serialises");
    // Pad the header with spaces to 8 bytes, as the format recommends.
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(data);
    out
}

/// The JSON header: tensor entries by name and `__metadata__`.
pub(super) type Header = serde_json::Map<String, Value>;

/// The JSON header and the data section of safetensors bytes.
pub(super) fn parse(bytes: &[u8]) -> anyhow::Result<(Header, &[u8])> {
    anyhow::ensure!(bytes.len() >= 8, "file too short for a safetensors header");
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    anyhow::ensure!(
        n <= (bytes.len() - 8) as u64,
        "header length {n} exceeds the file ({} bytes)",
        bytes.len()
    );
    let n = n as usize;
    let header: Header = serde_json::from_slice(&bytes[8..8 + n])?;
    Ok((header, &bytes[8 + n..]))
}

/// The `__metadata__` map of a header.
pub(super) fn metadata(header: &Header) -> anyhow::Result<&Header> {
    header
        .get("__metadata__")
        .and_then(|m| m.as_object())
        .ok_or_else(|| anyhow::anyhow!("no __metadata__ (not an insitu-cnn model)"))
}

/// Shape and values of the F32 tensor `name`.
pub(super) fn tensor(
    header: &Header,
    data: &[u8],
    name: &str,
) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
    let t = header
        .get(name)
        .ok_or_else(|| anyhow::anyhow!("missing tensor {name}"))?;
    anyhow::ensure!(t["dtype"] == "F32", "{name}: dtype must be F32");
    let shape: Vec<usize> = serde_json::from_value(t["shape"].clone())
        .map_err(|e| anyhow::anyhow!("{name}: shape: {e}"))?;
    let off: [usize; 2] = serde_json::from_value(t["data_offsets"].clone())
        .map_err(|e| anyhow::anyhow!("{name}: data_offsets: {e}"))?;
    let bytes = shape
        .iter()
        .try_fold(4usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| anyhow::anyhow!("{name}: shape {shape:?} is too large"))?;
    anyhow::ensure!(
        off[0] <= off[1] && off[1] <= data.len() && off[1] - off[0] == bytes,
        "{name}: byte range {off:?} does not match its shape {shape:?} ({bytes} bytes; the \
         data section holds {})",
        data.len()
    );
    let v: Vec<f32> = data[off[0]..off[1]]
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        anyhow::bail!("{name}: value {i} is {} (weights must be finite)", v[i]);
    }
    Ok((shape, v))
}
