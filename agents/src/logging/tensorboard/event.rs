//! The few protobuf messages an event file needs, encoded by hand so that logging does not pull in
//! a protobuf code generator. Field numbers are those of tensorflow/core/util/event.proto,
//! tensorflow/core/framework/summary.proto, tensor.proto and tensor_shape.proto.

/// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;
const FIXED32: u8 = 5;

// Event
const EVENT_WALL_TIME: u32 = 1;
const EVENT_STEP: u32 = 2;
const EVENT_FILE_VERSION: u32 = 3;
const EVENT_SUMMARY: u32 = 5;
// Summary
const SUMMARY_VALUE: u32 = 1;
// Summary.Value
const VALUE_TAG: u32 = 1;
const VALUE_SIMPLE_VALUE: u32 = 2;
const VALUE_IMAGE: u32 = 4;
const VALUE_TENSOR: u32 = 8;
const VALUE_METADATA: u32 = 9;
// Summary.Image
const IMAGE_HEIGHT: u32 = 1;
const IMAGE_WIDTH: u32 = 2;
const IMAGE_COLORSPACE: u32 = 3;
const IMAGE_ENCODED: u32 = 4;
/// `colorspace` of an RGB image (1 grayscale, 2 grayscale + alpha, 3 RGB, 4 RGBA, ...).
const COLORSPACE_RGB: u64 = 3;
// SummaryMetadata
const METADATA_PLUGIN_DATA: u32 = 1;
const METADATA_DATA_CLASS: u32 = 4;
const DATA_CLASS_TENSOR: u64 = 2;
// SummaryMetadata.PluginData
const PLUGIN_NAME: u32 = 1;
// TensorProto
const TENSOR_DTYPE: u32 = 1;
const TENSOR_SHAPE: u32 = 2;
const TENSOR_STRING_VAL: u32 = 8;
const DT_STRING: u64 = 7;
// TensorShapeProto and its Dim
const SHAPE_DIM: u32 = 2;
const DIM_SIZE: u32 = 1;

/// The version string TensorBoard expects in the first event of a file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// The first event of every file: it tells readers which event format follows.
pub(crate) fn file_version_event(wall_time: f64) -> Vec<u8> {
    let mut event = Vec::new();
    put_double(&mut event, EVENT_WALL_TIME, wall_time);
    put_bytes(&mut event, EVENT_FILE_VERSION, FILE_VERSION.as_bytes());
    event
}

/// A scalar as TensorBoard's SummaryWriter.add_scalar writes it: `simple_value`, a 32-bit float.
pub(crate) fn scalar_event(wall_time: f64, step: i64, tag: &str, value: f32) -> Vec<u8> {
    let mut summary_value = Vec::new();
    put_bytes(&mut summary_value, VALUE_TAG, tag.as_bytes());
    put_fixed32(&mut summary_value, VALUE_SIMPLE_VALUE, value.to_bits());
    summary_event(wall_time, step, &summary_value)
}

/// Text as tf.summary.text writes it: a scalar string tensor tagged for the "text" plugin, which
/// renders it as markdown.
pub(crate) fn text_event(wall_time: f64, step: i64, tag: &str, text: &str) -> Vec<u8> {
    let mut plugin_data = Vec::new();
    put_bytes(&mut plugin_data, PLUGIN_NAME, b"text");
    // TextPluginData{version: 0} serialises to nothing, so `content` is left out.
    let mut metadata = Vec::new();
    put_bytes(&mut metadata, METADATA_PLUGIN_DATA, &plugin_data);
    put_varint_field(&mut metadata, METADATA_DATA_CLASS, DATA_CLASS_TENSOR);

    let mut dim = Vec::new();
    put_varint_field(&mut dim, DIM_SIZE, 1);
    let mut shape = Vec::new();
    put_bytes(&mut shape, SHAPE_DIM, &dim);
    let mut tensor = Vec::new();
    put_varint_field(&mut tensor, TENSOR_DTYPE, DT_STRING);
    put_bytes(&mut tensor, TENSOR_SHAPE, &shape);
    put_bytes(&mut tensor, TENSOR_STRING_VAL, text.as_bytes());

    let mut summary_value = Vec::new();
    put_bytes(&mut summary_value, VALUE_TAG, tag.as_bytes());
    put_bytes(&mut summary_value, VALUE_METADATA, &metadata);
    put_bytes(&mut summary_value, VALUE_TENSOR, &tensor);
    summary_event(wall_time, step, &summary_value)
}

/// An encoded image (PNG, or an animated GIF, which TensorBoard's Images tab plays) as the
/// `image` field of a Summary.Value, as tf.compat.v1.summary.image writes it.
pub(crate) fn image_event(
    wall_time: f64,
    step: i64,
    tag: &str,
    height: u32,
    width: u32,
    encoded: &[u8],
) -> Vec<u8> {
    let mut image = Vec::new();
    put_varint_field(&mut image, IMAGE_HEIGHT, u64::from(height));
    put_varint_field(&mut image, IMAGE_WIDTH, u64::from(width));
    put_varint_field(&mut image, IMAGE_COLORSPACE, COLORSPACE_RGB);
    put_bytes(&mut image, IMAGE_ENCODED, encoded);
    let mut summary_value = Vec::new();
    put_bytes(&mut summary_value, VALUE_TAG, tag.as_bytes());
    put_bytes(&mut summary_value, VALUE_IMAGE, &image);
    summary_event(wall_time, step, &summary_value)
}

fn summary_event(wall_time: f64, step: i64, summary_value: &[u8]) -> Vec<u8> {
    let mut summary = Vec::new();
    put_bytes(&mut summary, SUMMARY_VALUE, summary_value);
    let mut event = Vec::new();
    put_double(&mut event, EVENT_WALL_TIME, wall_time);
    // int64 fields are varints of the two's-complement bits, so a negative step takes 10 bytes.
    put_varint_field(&mut event, EVENT_STEP, step as u64);
    put_bytes(&mut event, EVENT_SUMMARY, &summary);
    event
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

fn put_varint_field(out: &mut Vec<u8>, field: u32, value: u64) {
    put_key(out, field, VARINT);
    put_varint(out, value);
}

fn put_double(out: &mut Vec<u8>, field: u32, value: f64) {
    put_key(out, field, FIXED64);
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_fixed32(out: &mut Vec<u8>, field: u32, bits: u32) {
    put_key(out, field, FIXED32);
    out.extend_from_slice(&bits.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(out, field, LENGTH_DELIMITED);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, value);
        out
    }

    #[test]
    fn varints_match_the_protobuf_encoding_examples() {
        assert_eq!(varint(1), [0x01]);
        assert_eq!(varint(150), [0x96, 0x01]);
        assert_eq!(varint(300), [0xac, 0x02]);
        assert_eq!(varint(u64::MAX).len(), 10);
    }

    #[test]
    fn file_version_event_is_wall_time_then_version_string() {
        let event = file_version_event(1.5);
        let mut expected = vec![0x09];
        expected.extend_from_slice(&1.5f64.to_le_bytes());
        expected.push(0x1a);
        expected.push(FILE_VERSION.len() as u8);
        expected.extend_from_slice(FILE_VERSION.as_bytes());
        assert_eq!(event, expected);
    }

    #[test]
    fn scalar_event_bytes_are_exactly_as_protoc_would_write_them() {
        let event = scalar_event(0.0, 3, "a", 1.0);
        let mut expected = vec![0x09];
        expected.extend_from_slice(&0.0f64.to_le_bytes());
        expected.extend_from_slice(&[0x10, 0x03]); // step = 3
        // summary (field 5) { value (field 1) { tag "a", simple_value 1.0f } }
        expected.extend_from_slice(&[0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, b'a', 0x15]);
        expected.extend_from_slice(&1.0f32.to_le_bytes());
        assert_eq!(event, expected);
    }

    #[test]
    fn image_event_bytes_are_exactly_as_protoc_would_write_them() {
        let event = image_event(0.0, 3, "v", 2, 300, b"GIF");
        let mut expected = vec![0x09];
        expected.extend_from_slice(&0.0f64.to_le_bytes());
        expected.extend_from_slice(&[0x10, 0x03]);
        // summary { value { tag "v", image (field 4) { height 2, width 300, colorspace 3,
        // encoded_image_string "GIF" } } }
        let image = [
            0x08, 0x02, 0x10, 0xac, 0x02, 0x18, 0x03, 0x22, 0x03, b'G', b'I', b'F',
        ];
        let mut value = vec![0x0a, 0x01, b'v', 0x22, image.len() as u8];
        value.extend_from_slice(&image);
        expected.extend_from_slice(&[0x2a, value.len() as u8 + 2, 0x0a, value.len() as u8]);
        expected.extend_from_slice(&value);
        assert_eq!(event, expected);
    }
}
