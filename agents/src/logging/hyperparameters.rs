//! The hyperparameter table CleanRL logs as text at the start of every run:
//! `writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" + rows)`.

use serde_json::Value;

/// A markdown table with one row per setting. Nested objects become dotted keys (`env.id`),
/// strings are shown bare as Python's f-string shows them, anything else as JSON. Keys come in
/// serde_json's order, which is alphabetical.
pub fn hyperparameters_markdown(hyperparameters: &Value) -> String {
    let mut rows = Vec::new();
    flatten("", hyperparameters, &mut rows);
    let mut table = String::from("|param|value|\n|-|-|");
    for (key, value) in rows {
        table.push_str(&format!(
            "\n|{}|{}|",
            escape_cell(&key),
            escape_cell(&value)
        ));
    }
    table
}

fn flatten(key: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            for (field, field_value) in fields {
                let field_key = if key.is_empty() {
                    field.clone()
                } else {
                    format!("{key}.{field}")
                };
                flatten(&field_key, field_value, rows);
            }
        }
        leaf => {
            let key = if key.is_empty() { "value" } else { key };
            let text = match leaf {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            rows.push((key.to_owned(), text));
        }
    }
}

/// A `|` or a newline inside a cell would break the table's row.
fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_has_cleanrl_header_and_one_row_per_setting() {
        let table = hyperparameters_markdown(&json!({
            "env_id": "Hopper-v4",
            "learning_rate": 0.0003,
            "total_timesteps": 1000000,
            "autotune": true,
        }));
        assert_eq!(
            table,
            "|param|value|\n|-|-|\n|autotune|true|\n|env_id|Hopper-v4|\n\
             |learning_rate|0.0003|\n|total_timesteps|1000000|"
        );
    }

    #[test]
    fn nested_settings_get_dotted_keys_and_pipes_are_escaped() {
        let table = hyperparameters_markdown(&json!({
            "objective": {"kind": "cvar", "alpha": 0.1},
            "note": "a|b",
        }));
        assert!(table.contains("\n|objective.alpha|0.1|"));
        assert!(table.contains("\n|objective.kind|cvar|"));
        assert!(table.contains("\n|note|a\\|b|"));
    }
}
