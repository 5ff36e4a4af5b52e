//! The LLM judge: a BrowseComp-style grading prompt sent to any [`ChatBackend`] (an
//! OpenAI-compatible endpoint or the local model), read back as `correct: yes|no`.
//! Exact match misses paraphrases ("23 June 1912" vs "June 23, 1912"); the judge is the
//! usual remedy in deep-research evaluations.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::backend::{ChatBackend, GenRequest, Prompt};
use crate::chat_template::ChatMessage;
use crate::error::Result;
use crate::sampling::SamplingParams;

/// BrowseComp's grader template (`{question}`, `{response}`, `{correct_answer}`).
pub const JUDGE_PROMPT_TEMPLATE: &str = "Judge whether the following [response] to [question] is correct or not based on the precise and unambiguous [correct_answer] below.

[question]: {question}

[response]: {response}

Your judgement must be in the format and criteria specified below:

extracted_final_answer: The final exact answer extracted from the [response]. Put the extracted answer as 'None' if there is no exact, final answer to extract from the response.

[correct_answer]: {correct_answer}

reasoning: Explain why the extracted_final_answer is correct or incorrect based on [correct_answer], focusing only on if there are meaningful differences between [correct_answer] and the extracted_final_answer. Do not comment on any background to the problem, do not attempt to solve the problem, do not argue for any answer different than [correct_answer], focus only on whether the answers match.

correct: Answer 'yes' if extracted_final_answer matches the [correct_answer] given above, or is within a small margin of error for numerical problems. Answer 'no' otherwise, i.e. if there is any inconsistency, ambiguity, non-equivalency, or if the extracted answer is incorrect.

confidence: The extracted confidence score between 0% and 100% from [response]. Put 100 if there is no confidence score available.";

/// What the judge said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeVerdict {
    /// `None` when the reply had no readable `correct:` line (or the judge failed).
    pub correct: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted_answer: Option<String>,
    /// The judge's reply, or the error that prevented one.
    pub raw: String,
}

/// A judge model with greedy decoding (a verdict should not depend on the sampling seed).
pub struct Judge {
    backend: Arc<dyn ChatBackend>,
    params: SamplingParams,
}

impl Judge {
    pub fn new(backend: Arc<dyn ChatBackend>) -> Self {
        Judge {
            backend,
            params: SamplingParams::greedy(1024),
        }
    }

    pub fn model_id(&self) -> &str {
        self.backend.model_id()
    }

    /// Grades `response` against the gold answers (joined as alternatives).
    pub async fn judge(&self, question: &str, response: &str, answers: &[String]) -> JudgeVerdict {
        match self.ask(question, response, answers).await {
            Ok(raw) => parse_verdict(&raw),
            Err(e) => JudgeVerdict {
                correct: None,
                extracted_answer: None,
                raw: format!("judge failed: {e}"),
            },
        }
    }

    async fn ask(&self, question: &str, response: &str, answers: &[String]) -> Result<String> {
        let prompt = judge_prompt(question, response, answers);
        let result = self
            .backend
            .generate_one(GenRequest {
                prompt: Prompt::chat(vec![ChatMessage::user(prompt)]),
                params: self.params.clone(),
            })
            .await?;
        Ok(result.text)
    }
}

/// The filled-in grading prompt.
pub fn judge_prompt(question: &str, response: &str, answers: &[String]) -> String {
    JUDGE_PROMPT_TEMPLATE
        .replace("{correct_answer}", &answers.join(" OR "))
        .replace("{question}", question)
        .replace("{response}", response)
}

/// Reads `correct: yes|no` and `extracted_final_answer: …` from a judge reply; the last
/// such line wins, Markdown emphasis around the key is ignored.
pub fn parse_verdict(raw: &str) -> JudgeVerdict {
    let mut correct = None;
    let mut extracted_answer = None;
    for line in raw.lines() {
        let line = line.trim().trim_start_matches(['*', '#', '-', ' ']);
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches('*').trim().to_ascii_lowercase();
        let value = value.trim().trim_matches('*').trim();
        match key.as_str() {
            "correct" => {
                let word = value
                    .split(|c: char| !c.is_alphabetic())
                    .find(|w| !w.is_empty())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                correct = match word.as_str() {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => correct,
                };
            }
            "extracted_final_answer" => extracted_answer = Some(value.to_owned()),
            _ => {}
        }
    }
    JudgeVerdict {
        correct,
        extracted_answer,
        raw: raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_read_from_the_correct_line() {
        let v = parse_verdict(
            "extracted_final_answer: 1930\nreasoning: same.\ncorrect: yes\nconfidence: 90%",
        );
        assert_eq!(v.correct, Some(true));
        assert_eq!(v.extracted_answer.as_deref(), Some("1930"));
        assert_eq!(parse_verdict("**correct:** No.").correct, Some(false));
        assert_eq!(parse_verdict("I think it is right").correct, None);
        assert_eq!(parse_verdict("correct: maybe").correct, None);
    }

    #[test]
    fn prompt_carries_question_response_and_answers() {
        let p = judge_prompt("Q?", "R", &["a".into(), "b".into()]);
        assert!(p.contains("[question]: Q?"));
        assert!(p.contains("[response]: R"));
        assert!(p.contains("[correct_answer]: a OR b"));
    }
}
