//! The scalars of a run's TensorBoard event files, read from the TFRecord and protobuf layouts
//! (tensorflow/core/util/event.proto, summary.proto), independently of the writer's code.

use std::path::Path;

/// (tag, step, value) of every scalar event in every `events.out.tfevents.*` file of `run_dir`.
pub fn scalars(run_dir: &Path) -> Vec<(String, i64, f32)> {
    let mut files: Vec<_> = std::fs::read_dir(run_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    files.sort();
    let mut scalars = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let mut at = 0;
        // Records: u64 length, u32 length CRC, data, u32 data CRC.
        while at < bytes.len() {
            let length = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            let data = &bytes[at + 12..at + 12 + length];
            at += 12 + length + 4;
            if let Some(scalar) = scalar_event(data) {
                scalars.push(scalar);
            }
        }
    }
    scalars
}

fn scalar_event(event: &[u8]) -> Option<(String, i64, f32)> {
    let fields = decode(event);
    let step = fields.iter().find_map(|(number, field)| match field {
        Field::Varint(step) if *number == 2 => Some(*step as i64),
        _ => None,
    });
    let summary = bytes_field(&fields, 5)?;
    let value = bytes_field(&decode(&summary), 1)?;
    let value = decode(&value);
    let tag = String::from_utf8(bytes_field(&value, 1)?).unwrap();
    let simple_value = value.iter().find_map(|(number, field)| match field {
        Field::Fixed32(bits) if *number == 2 => Some(f32::from_bits(*bits)),
        _ => None,
    })?;
    Some((tag, step.unwrap_or(0), simple_value))
}

enum Field {
    Varint(u64),
    Fixed64,
    Bytes(Vec<u8>),
    Fixed32(u32),
}

fn bytes_field(fields: &[(u32, Field)], wanted: u32) -> Option<Vec<u8>> {
    fields.iter().find_map(|(number, field)| match field {
        Field::Bytes(bytes) if *number == wanted => Some(bytes.clone()),
        _ => None,
    })
}

fn varint(bytes: &mut &[u8]) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[0];
        *bytes = &bytes[1..];
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    value
}

fn decode(mut bytes: &[u8]) -> Vec<(u32, Field)> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let (number, wire_type) = ((key >> 3) as u32, key & 7);
        let field = match wire_type {
            0 => Field::Varint(varint(&mut bytes)),
            1 => {
                bytes = &bytes[8..];
                Field::Fixed64
            }
            2 => {
                let length = varint(&mut bytes) as usize;
                let value = bytes[..length].to_vec();
                bytes = &bytes[length..];
                Field::Bytes(value)
            }
            5 => {
                let value = u32::from_le_bytes(bytes[..4].try_into().unwrap());
                bytes = &bytes[4..];
                Field::Fixed32(value)
            }
            other => panic!("unexpected wire type {other}"),
        };
        fields.push((number, field));
    }
    fields
}
