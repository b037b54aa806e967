//! A reader of TensorBoard event files written from the format descriptions (TFRecord;
//! tensorflow/core/util/event.proto, summary.proto), independent of the writer's code: every
//! record's CRCs are checked, and every Event field is decoded or refused.
#![allow(
    dead_code,
    reason = "each test file that includes this uses a part of it"
)]

use std::fs;
use std::path::{Path, PathBuf};

/// (tag, step, value) of every scalar event in every `events.out.tfevents.*` file of `run_dir`.
pub fn scalars(run_dir: &Path) -> Vec<(String, i64, f32)> {
    event_files(run_dir)
        .iter()
        .flat_map(|file| scalars_of(&read_events(file)))
        .collect()
}

#[allow(
    clippy::manual_rotate,
    reason = "written as the TFRecord format states it"
)]
fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    ((crc >> 15) | (crc << 17)).wrapping_add(0xa282ead8)
}

/// Splits a TFRecord file into its records, checking both CRCs of each.
pub fn read_records(path: &Path) -> Vec<Vec<u8>> {
    let bytes = fs::read(path).unwrap();
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let length_bytes = &bytes[at..at + 8];
        let length = u64::from_le_bytes(length_bytes.try_into().unwrap()) as usize;
        let length_crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        assert_eq!(
            length_crc,
            masked_crc32c(length_bytes),
            "length CRC at byte {at}"
        );
        let data = &bytes[at + 12..at + 12 + length];
        let data_crc_at = at + 12 + length;
        let data_crc = u32::from_le_bytes(bytes[data_crc_at..data_crc_at + 4].try_into().unwrap());
        assert_eq!(
            data_crc,
            masked_crc32c(data),
            "data CRC of record at byte {at}"
        );
        records.push(data.to_vec());
        at = data_crc_at + 4;
    }
    records
}

#[derive(Debug, Clone)]
enum Field {
    Varint(u64),
    Fixed64(u64),
    Bytes(Vec<u8>),
    Fixed32(u32),
}

/// Decodes one protobuf message into (field number, value) pairs, in order.
fn decode_message(mut bytes: &[u8]) -> Vec<(u32, Field)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
        }
        panic!("varint longer than 10 bytes");
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let number = (key >> 3) as u32;
        let field = match key & 7 {
            0 => Field::Varint(varint(&mut bytes)),
            1 => {
                let value = u64::from_le_bytes(bytes[..8].try_into().unwrap());
                bytes = &bytes[8..];
                Field::Fixed64(value)
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
            wire_type => panic!("unexpected wire type {wire_type}"),
        };
        fields.push((number, field));
    }
    fields
}

fn only_bytes(fields: &[(u32, Field)], number: u32) -> Option<Vec<u8>> {
    fields.iter().find_map(|(field_number, field)| match field {
        Field::Bytes(bytes) if *field_number == number => Some(bytes.clone()),
        _ => None,
    })
}

fn only_varint(fields: &[(u32, Field)], number: u32) -> Option<u64> {
    fields.iter().find_map(|(field_number, field)| match field {
        Field::Varint(value) if *field_number == number => Some(*value),
        _ => None,
    })
}

/// What the tests need from an Event: tensorflow/core/util/event.proto and summary.proto.
#[derive(Debug, Default)]
pub struct Event {
    pub wall_time: f64,
    pub step: i64,
    pub file_version: Option<String>,
    pub tag: Option<String>,
    pub simple_value: Option<f32>,
    pub plugin_name: Option<String>,
    pub text: Option<String>,
}

fn decode_event(bytes: &[u8]) -> Event {
    let fields = decode_message(bytes);
    let mut event = Event::default();
    for (number, field) in &fields {
        match (number, field) {
            (1, Field::Fixed64(bits)) => event.wall_time = f64::from_bits(*bits),
            (2, Field::Varint(step)) => event.step = *step as i64,
            (3, Field::Bytes(version)) => {
                event.file_version = Some(String::from_utf8(version.clone()).unwrap())
            }
            (5, Field::Bytes(summary)) => decode_summary(summary, &mut event),
            other => panic!("unexpected Event field {other:?}"),
        }
    }
    event
}

fn decode_summary(summary: &[u8], event: &mut Event) {
    let summary = decode_message(summary);
    assert_eq!(summary.len(), 1, "one Summary.Value per event");
    let value = decode_message(&only_bytes(&summary, 1).unwrap());
    event.tag = only_bytes(&value, 1).map(|tag| String::from_utf8(tag).unwrap());
    event.simple_value = value.iter().find_map(|(number, field)| match field {
        Field::Fixed32(bits) if *number == 2 => Some(f32::from_bits(*bits)),
        _ => None,
    });
    if let Some(metadata) = only_bytes(&value, 9) {
        let plugin_data = decode_message(&only_bytes(&decode_message(&metadata), 1).unwrap());
        event.plugin_name =
            only_bytes(&plugin_data, 1).map(|name| String::from_utf8(name).unwrap());
    }
    if let Some(tensor) = only_bytes(&value, 8) {
        let tensor = decode_message(&tensor);
        assert_eq!(only_varint(&tensor, 1), Some(7), "dtype DT_STRING");
        event.text = only_bytes(&tensor, 8).map(|text| String::from_utf8(text).unwrap());
    }
}

pub fn read_events(path: &Path) -> Vec<Event> {
    read_records(path)
        .iter()
        .map(|record| decode_event(record))
        .collect()
}

pub fn event_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    files.sort();
    files
}

pub fn scalars_of(events: &[Event]) -> Vec<(String, i64, f32)> {
    events
        .iter()
        .filter_map(|event| Some((event.tag.clone()?, event.step, event.simple_value?)))
        .collect()
}
