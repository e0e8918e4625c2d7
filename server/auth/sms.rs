//! Sending text messages (verification codes) behind one interface, so a real provider is a
//! configuration choice (`P_SMS`) and tests never send anything (protocol decision §9.11).
//!
//! Messages are sent after the call that produced them commits: a code that was rolled back is never
//! sent, and no provider latency is spent while the call holds the database writer. A provider that
//! talks to the network should keep its own timeout short (or queue the message to its own worker);
//! a failure is logged, and the user asks for a new code after the resend interval.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Something that delivers a text message to a phone.
pub trait SmsSender: Send + Sync {
    /// Sends `text` to `phone`; an error is a message for the log.
    fn send(&self, phone: &str, text: &str) -> Result<(), String>;

    /// The most recent messages, oldest first, for senders that keep them (the mock does, so tests
    /// and a developer console can read codes); others keep nothing.
    fn outbox(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// The default sender: writes each message to the log (target `sms`) and keeps the last 100.
#[derive(Default)]
pub struct MockSms {
    recent: Mutex<VecDeque<(String, String)>>,
}

/// Messages the mock keeps in memory.
const KEEP: usize = 100;

impl SmsSender for MockSms {
    fn send(&self, phone: &str, text: &str) -> Result<(), String> {
        log::info!(target: "sms", "to {phone}: {text}");
        let mut q = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() == KEEP {
            q.pop_front();
        }
        q.push_back((phone.to_string(), text.to_string()));
        Ok(())
    }

    fn outbox(&self) -> Vec<(String, String)> {
        self.recent.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

/// The sender named by `P_SMS`. Only `mock` exists so far; an unknown name stops start-up rather
/// than silently not sending codes.
pub fn from_config(name: &str) -> Result<Arc<dyn SmsSender>, String> {
    match name {
        "" | "mock" => Ok(Arc::new(MockSms::default())),
        other => Err(format!("P_SMS: unknown SMS sender `{other}` (known: mock)")),
    }
}

/// The text of a verification-code message, as the reference words it.
pub fn code_text(code: &str) -> String {
    format!("验证码{code}，请在5分钟内使用。")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_keeps_the_latest_messages_in_order() {
        let m = MockSms::default();
        for i in 0..(KEEP + 2) {
            m.send("13800000000", &format!("m{i}")).unwrap();
        }
        let out = m.outbox();
        assert_eq!(out.len(), KEEP);
        assert_eq!(out[0].1, "m2");
        assert_eq!(out.last().unwrap().1, format!("m{}", KEEP + 1));
    }

    #[test]
    fn unknown_senders_are_a_configuration_error() {
        assert!(from_config("mock").is_ok());
        assert!(from_config("aliyun").is_err());
    }
}
