//! The tokenizer shared by the `cond`, `orderby` and aggregate-argument grammars, the checks that run
//! over a whole token list before any parsing (sub-queries, function calls, stray characters), and the
//! quote-aware bracket matching used where text is cut up before it is lexed.
//!
//! Lexing never fails: anything outside the grammar (`;`, comments, unknown characters, an unterminated
//! string) becomes a [`Tok::Bad`] token, so the forbidden-word check still sees the whole input and
//! `id=1; SELECT ...` is reported as the sub-query it is rather than as a stray semicolon.

use super::{CmpOp, SqlValue};
use crate::error::{ApiError, ApiResult};

/// One token; `pos` is its byte offset in the source, for error messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// `name` or `tbl.name` (one dot at most); keywords are identifiers too, matched case-insensitively.
    Ident(String),
    /// An unsigned integer or decimal; the parser applies a leading `-`.
    Num(SqlValue),
    /// A quoted string with its quotes removed and doubled quotes collapsed; `double` for `"..."`.
    Str {
        text: String,
        double: bool,
    },
    LParen,
    RParen,
    Comma,
    Cmp(CmpOp),
    Plus,
    Minus,
    Star,
    Slash,
    /// Something outside every grammar, with the reason.
    Bad(String),
}

/// Keywords that may be followed by `(` without being a function call (`count(distinct(x))`); the
/// grammar then decides whether the parenthesis is allowed there.
const PAREN_KEYWORDS: [&str; 7] = ["AND", "OR", "NOT", "IN", "LIKE", "BETWEEN", "DISTINCT"];

/// Words that introduce a sub-query; refused wherever they appear outside quotes.
const FORBIDDEN_WORDS: [&str; 2] = ["SELECT", "UNION"];

/// First character of an identifier: `[A-Za-z_]` or a non-ASCII letter (CJK column names and aliases).
pub(crate) fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic() || (!c.is_ascii() && c.is_alphanumeric())
}

/// Later characters of an identifier (`\w`).
pub(crate) fn is_ident_char(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

/// Is `s` a whole identifier, optionally with one `tbl.` prefix?
pub(crate) fn is_field_name(s: &str) -> bool {
    let ident = |p: &str| p.chars().next().is_some_and(is_ident_start) && p.chars().all(is_ident_char);
    match s.split_once('.') {
        Some((table, name)) => ident(table) && ident(name),
        None => ident(s),
    }
}

/// Index of the `)` closing an already-opened `(`, skipping quoted text.
pub(crate) fn find_close(s: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0usize, None);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') if depth == 0 => return Some(i),
            (None, ')') => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits `src` into tokens. Never fails; see the module comment.
pub(crate) fn lex(src: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let mut push = |tok: Tok| out.push(Token { tok, pos });
        if c.is_whitespace() {
            i += 1;
        } else if is_ident_start(c) {
            let (name, end) = read_name(&chars, i);
            push(Tok::Ident(name));
            i = end;
        } else if c.is_ascii_digit() {
            let (tok, end) = read_number(src, &chars, i);
            push(tok);
            i = end;
        } else if c == '\'' || c == '"' {
            let (tok, end) = read_string(&chars, i);
            push(tok);
            i = end;
        } else if (c == '-' && next == Some('-')) || (c == '/' && next == Some('*')) {
            // Lexing goes on after the marker so that a sub-query hidden behind it is still seen.
            push(Tok::Bad("comments are not allowed".into()));
            i += 2;
        } else {
            let (tok, len) = match (c, next) {
                ('<', Some('=')) => (Tok::Cmp(CmpOp::Le), 2),
                ('>', Some('=')) => (Tok::Cmp(CmpOp::Ge), 2),
                ('<', Some('>')) | ('!', Some('=')) => (Tok::Cmp(CmpOp::Ne), 2),
                ('<', _) => (Tok::Cmp(CmpOp::Lt), 1),
                ('>', _) => (Tok::Cmp(CmpOp::Gt), 1),
                ('=', _) => (Tok::Cmp(CmpOp::Eq), 1),
                ('(', _) => (Tok::LParen, 1),
                (')', _) => (Tok::RParen, 1),
                (',', _) => (Tok::Comma, 1),
                ('+', _) => (Tok::Plus, 1),
                ('-', _) => (Tok::Minus, 1),
                ('*', _) => (Tok::Star, 1),
                ('/', _) => (Tok::Slash, 1),
                (';', _) => (Tok::Bad("`;` is not allowed".into()), 1),
                _ => (Tok::Bad(format!("unexpected character `{c}`")), 1),
            };
            push(tok);
            i += len;
        }
    }
    out
}

/// Reads `name` or `name.name` starting at `chars[i]`.
fn read_name(chars: &[(usize, char)], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    let mut dotted = false;
    loop {
        while let Some(&(_, c)) = chars.get(i).filter(|(_, c)| is_ident_char(*c)) {
            name.push(c);
            i += 1;
        }
        // One `tbl.` prefix; a second dot is left for the parser to reject as a stray character.
        let dot_then_name =
            chars.get(i).is_some_and(|&(_, c)| c == '.') && chars.get(i + 1).is_some_and(|&(_, c)| is_ident_start(c));
        if dotted || !dot_then_name {
            return (name, i);
        }
        dotted = true;
        name.push('.');
        i += 1;
    }
}

/// Reads `\d+(\.\d+)?`.
fn read_number(src: &str, chars: &[(usize, char)], mut i: usize) -> (Tok, usize) {
    let start = chars[i].0;
    let digit_at = |i: usize| chars.get(i).is_some_and(|&(_, c)| c.is_ascii_digit());
    while digit_at(i) {
        i += 1;
    }
    let mut real = false;
    if chars.get(i).is_some_and(|&(_, c)| c == '.') && digit_at(i + 1) {
        real = true;
        i += 1;
        while digit_at(i) {
            i += 1;
        }
    }
    let end = chars.get(i).map_or(src.len(), |&(p, _)| p);
    let text = &src[start..end];
    let tok = if real {
        text.parse().ok().map(|f| Tok::Num(SqlValue::Real(f)))
    } else {
        text.parse().ok().map(|n| Tok::Num(SqlValue::Int(n)))
    };
    (tok.unwrap_or_else(|| Tok::Bad(format!("number out of range `{text}`"))), i)
}

/// Reads a `'...'` or `"..."` string; a doubled quote stands for one. Backslash has no special meaning.
fn read_string(chars: &[(usize, char)], mut i: usize) -> (Tok, usize) {
    let quote = chars[i].1;
    let mut text = String::new();
    i += 1;
    loop {
        match chars.get(i) {
            None => return (Tok::Bad("unterminated string".into()), i),
            Some(&(_, c)) if c == quote => {
                if chars.get(i + 1).is_some_and(|&(_, c)| c == quote) {
                    text.push(quote);
                    i += 2;
                } else {
                    return (Tok::Str { text, double: quote == '"' }, i + 1);
                }
            }
            Some(&(_, c)) => {
                text.push(c);
                i += 1;
            }
        }
    }
}

/// Which grammar a token list belongs to; only the wording of errors differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    Cond,
    Res,
    Orderby,
}

impl Ctx {
    /// Prefix of internal error messages, e.g. `bad cond: ...`.
    pub fn what(self) -> &'static str {
        match self {
            Ctx::Cond => "bad cond",
            Ctx::Res => "bad property",
            Ctx::Orderby => "bad orderby",
        }
    }

    /// The error for a function call `name(`: E_FORBIDDEN, worded as the reference does.
    pub fn function_error(self, name: &str) -> ApiError {
        match self {
            Ctx::Cond => ApiError::forbidden(format!("forbidden `{name}` in param cond")),
            Ctx::Res | Ctx::Orderby => ApiError::forbidden(format!("function not allowed: {name}")),
        }
    }
}

/// Refuses a token list before parsing: sub-query words (E_FORBIDDEN), identifiers followed by `(` other
/// than [`PAREN_KEYWORDS`] (E_FORBIDDEN; allowed aggregates are split off before lexing), then the first
/// bad token (E_PARAM).
/// The order matters: an injection attempt is reported as forbidden even when it is also malformed.
pub(crate) fn check_tokens(src: &str, toks: &[Token], ctx: Ctx) -> ApiResult<()> {
    for t in toks {
        if let Tok::Ident(name) = &t.tok {
            if FORBIDDEN_WORDS.iter().any(|w| w.eq_ignore_ascii_case(name)) {
                return Err(ApiError::forbidden(format!("forbidden `{name}` in param {}", ctx_param(ctx))));
            }
        }
    }
    for w in toks.windows(2) {
        if let (Tok::Ident(name), Tok::LParen) = (&w[0].tok, &w[1].tok) {
            let known = PAREN_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name));
            if !known {
                return Err(ctx.function_error(name));
            }
        }
    }
    let bad = toks.iter().find_map(|t| match &t.tok {
        Tok::Bad(msg) => Some((msg, t.pos)),
        _ => None,
    });
    match bad {
        Some((msg, pos)) => Err(ApiError::bad_param(format!("{}: {msg} near `{}`", ctx.what(), snippet(src, pos)))),
        None => Ok(()),
    }
}

fn ctx_param(ctx: Ctx) -> &'static str {
    match ctx {
        Ctx::Cond => "cond",
        Ctx::Res => "res",
        Ctx::Orderby => "orderby",
    }
}

/// Up to 30 characters of `src` from byte `pos`, for "near `...`" in error messages.
pub(crate) fn snippet(src: &str, pos: usize) -> String {
    let rest = src.get(pos..).unwrap_or("");
    if rest.is_empty() {
        return "(end)".into();
    }
    let mut s: String = rest.chars().take(30).collect();
    if rest.chars().count() > 30 {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).into_iter().map(|t| t.tok).collect()
    }

    fn ident(s: &str) -> Tok {
        Tok::Ident(s.into())
    }

    #[test]
    fn lexes_names_numbers_strings_and_operators() {
        assert_eq!(
            toks("t0.a>=-1.5 AND 名字<>'it''s'"),
            vec![
                ident("t0.a"),
                Tok::Cmp(CmpOp::Ge),
                Tok::Minus,
                Tok::Num(SqlValue::Real(1.5)),
                ident("AND"),
                ident("名字"),
                Tok::Cmp(CmpOp::Ne),
                Tok::Str { text: "it's".into(), double: false },
            ]
        );
        assert_eq!(toks("\"a\"\"b\""), vec![Tok::Str { text: "a\"b".into(), double: true }]);
        assert_eq!(toks("a!=2"), vec![ident("a"), Tok::Cmp(CmpOp::Ne), Tok::Num(SqlValue::Int(2))]);
    }

    #[test]
    fn second_dot_in_a_name_is_a_bad_token() {
        assert_eq!(toks("a.b.c"), vec![ident("a.b"), Tok::Bad("unexpected character `.`".into()), ident("c")]);
    }

    #[test]
    fn semicolons_comments_and_open_strings_become_bad_tokens() {
        assert!(matches!(toks("a;")[1], Tok::Bad(_)));
        assert!(matches!(toks("a -- x")[1], Tok::Bad(_)));
        assert!(matches!(toks("a /* x */")[1], Tok::Bad(_)));
        assert_eq!(toks("'abc"), vec![Tok::Bad("unterminated string".into())]);
        assert!(matches!(toks("99999999999999999999")[0], Tok::Bad(_)));
    }

    #[test]
    fn forbidden_words_are_found_even_after_a_bad_token() {
        let src = "id=1; select pwd from User";
        let err = check_tokens(src, &lex(src), Ctx::Cond).unwrap_err();
        assert_eq!(err.code, crate::error::Code::Forbidden);
    }

    #[test]
    fn words_inside_quotes_are_not_forbidden() {
        let src = "name='select sleep(1)'";
        assert!(check_tokens(src, &lex(src), Ctx::Cond).is_ok());
    }

    #[test]
    fn field_names_allow_one_table_prefix() {
        assert!(is_field_name("a") && is_field_name("t0.a") && is_field_name("名字"));
        assert!(!is_field_name("a.b.c") && !is_field_name("1a") && !is_field_name("a-b") && !is_field_name(""));
    }
}
