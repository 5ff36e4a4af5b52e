//! The task file: one JSON object per line, `{"id", "question", "answers": [...]}` with an
//! optional `"evidence": [doc ids or URLs]` for evidence recall. Ids may be strings or
//! integers (QA sets use both); they must be unique, since resuming a run keys finished
//! work by (task id, sample). Unknown fields are ignored so benchmark files can be used as
//! they come.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::RolloutError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub question: String,
    /// Gold answers; the best match over them counts.
    #[serde(default)]
    pub answers: Vec<String>,
    /// Documents (doc ids such as `enwiki:1234` or URLs) an agent should have found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// One line of a task file as written: the task, every field of the line (extra ones
/// such as `level` or `lang` included) and its text, for tools that rewrite task files
/// without losing what they do not know (`simweb tasks curate`).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskLine {
    pub task: Task,
    pub fields: Map<String, Value>,
    /// The line's text, trimmed.
    pub text: String,
    /// 1-based.
    pub line: usize,
}

/// Reads a task file; every problem names the file and the 1-based line.
pub fn read_tasks(path: &Path) -> Result<Vec<Task>, RolloutError> {
    Ok(read_task_lines(path)?.into_iter().map(|l| l.task).collect())
}

/// Reads a task file keeping each line's fields and text; errors as [`read_tasks`].
pub fn read_task_lines(path: &Path) -> Result<Vec<TaskLine>, RolloutError> {
    let text = std::fs::read_to_string(path).map_err(|e| RolloutError::Tasks {
        path: path.to_owned(),
        line: 0,
        reason: e.to_string(),
    })?;
    parse_task_lines(&text).map_err(|(line, reason)| RolloutError::Tasks {
        path: path.to_owned(),
        line,
        reason,
    })
}

/// Parses task JSONL; the error is (1-based line, reason).
pub fn parse_tasks(text: &str) -> Result<Vec<Task>, (usize, String)> {
    Ok(parse_task_lines(text)?
        .into_iter()
        .map(|l| l.task)
        .collect())
}

fn parse_task_lines(text: &str) -> Result<Vec<TaskLine>, (usize, String)> {
    let mut tasks = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (task, fields) = parse_task(line).map_err(|reason| (line_no, reason))?;
        if let Some(first) = seen.insert(task.id.clone(), line_no) {
            return Err((
                line_no,
                format!("duplicate task id {:?} (first on line {first})", task.id),
            ));
        }
        tasks.push(TaskLine {
            task,
            fields,
            text: line.trim().to_owned(),
            line: line_no,
        });
    }
    if tasks.is_empty() {
        return Err((0, "the file has no tasks".into()));
    }
    Ok(tasks)
}

fn parse_task(line: &str) -> Result<(Task, Map<String, Value>), String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("a task must be a JSON object".into());
    };
    let id = match map.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("\"id\" must be a non-empty string or a number".into()),
        None => return Err("missing \"id\"".into()),
    };
    let question = match map.get("question") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            return Err(format!(
                "task {id:?}: \"question\" must be a non-empty string"
            ))
        }
        None => return Err(format!("task {id:?}: missing \"question\"")),
    };
    let strings = |key: &str| -> Result<Vec<String>, String> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            // A single answer written as a string is accepted as a list of one.
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(format!(
                        "task {id:?}: \"{key}\" must hold strings, found {other}"
                    )),
                })
                .collect(),
            Some(other) => Err(format!(
                "task {id:?}: \"{key}\" must be a list of strings, found {other}"
            )),
        }
    };
    let task = Task {
        answers: strings("answers")?,
        evidence: strings("evidence")?,
        id,
        question,
    };
    Ok((task, map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tasks_and_names_bad_lines() {
        let tasks = parse_tasks(
            "{\"id\": \"a\", \"question\": \"q?\", \"answers\": [\"x\", 3], \"extra\": 1}\n\n{\"id\": 7, \"question\": \"r?\", \"answers\": \"y\", \"evidence\": [\"enwiki:1\"]}\n",
        )
        .unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].answers, vec!["x", "3"]);
        assert_eq!(tasks[1].id, "7");
        assert_eq!(tasks[1].answers, vec!["y"]);
        assert_eq!(tasks[1].evidence, vec!["enwiki:1"]);

        let err = parse_tasks(
            "{\"id\": \"a\", \"question\": \"q\"}\n{\"id\": \"a\", \"question\": \"q\"}",
        )
        .unwrap_err();
        assert_eq!(err.0, 2);
        assert!(err.1.contains("duplicate"), "{}", err.1);
        assert_eq!(parse_tasks("{\"id\": \"a\"}").unwrap_err().0, 1);
        assert_eq!(parse_tasks("\n\nnot json").unwrap_err().0, 3);
        assert!(
            parse_tasks("{\"id\": \"a\", \"question\": \"q\", \"answers\": [{}]}")
                .unwrap_err()
                .1
                .contains("answers")
        );
        assert_eq!(parse_tasks("").unwrap_err().0, 0);
    }
}
