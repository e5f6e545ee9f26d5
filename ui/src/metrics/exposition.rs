//! Reading Prometheus' text exposition format, as the cluster's servers write it at
//! `/metrics`: one sample per line, `name{label="value",...} number`. Only what the charts
//! need: names, labels and values; comments, timestamps and malformed lines are skipped.

/// One sample of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Every sample in `text` that parses.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let (labels, rest) = if line[name_end..].starts_with('{') {
        let close = line[name_end..].find('}')? + name_end;
        (
            parse_labels(&line[name_end + 1..close])?,
            &line[close + 1..],
        )
    } else {
        (Vec::new(), &line[name_end..])
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// `api="Produce",le="0.005"`; values may hold escaped quotes and commas.
fn parse_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        labels.push((key, value));
        rest = after[end + 1..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    Some(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_with_and_without_labels_are_read() {
        let text = "# HELP potok_bytes_in_total Request bytes\n# TYPE potok_bytes_in_total counter\npotok_bytes_in_total 1024\npotok_request_duration_seconds_bucket{api=\"Produce\",le=\"0.005\"} 7\npotok_request_duration_seconds_bucket{api=\"Produce\",le=\"+Inf\"} 9\nweird{a=\"x\\\"y,z\"} 1.5e3\nbroken{a=\"x\" 3\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[0].name, "potok_bytes_in_total");
        assert_eq!(samples[0].value, 1024.0);
        assert_eq!(samples[1].label("le"), Some("0.005"));
        assert_eq!(samples[1].label("api"), Some("Produce"));
        assert_eq!(samples[2].label("le"), Some("+Inf"));
        assert_eq!(samples[3].label("a"), Some("x\"y,z"));
        assert_eq!(samples[3].value, 1500.0);
    }
}
