#pragma once
// Python's str semantics on UTF-8 strings, as the Jinja interpreter needs them: code points,
// whitespace, case mapping, strip/split/replace. Bytes that are not valid UTF-8 decode to lone
// surrogates U+DC80..U+DCFF and encode back to the same bytes (Python's "surrogateescape"), so no
// input byte is ever lost or altered.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gemma::jinja::text {

std::u32string decode(std::string_view utf8);
std::string encode(std::u32string_view code_points);
/// Appends one code point as UTF-8.
void append_utf8(std::string& out, char32_t code_point);

/// Number of code points: Python's len(str).
size_t length(std::string_view utf8);
/// Each code point as its own string: Python's list(str).
std::vector<std::string> characters(std::string_view utf8);

/// str.isspace() for one code point: the characters str.split() and str.strip() treat as blanks.
bool is_space(char32_t c);
/// str.isalpha() for one code point, approximated beyond ASCII: letters with case (in the scripts
/// case mapping covers) and CJK ideographs, kana and hangul.
bool is_alpha(char32_t c);
/// Byte length of the Python whitespace character at `pos`, or 0 if there is none.
size_t space_at(std::string_view utf8, size_t pos);

/// str.strip/lstrip/rstrip; `chars` unset strips whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                  bool right);
/// str.split(sep, maxsplit) and str.rsplit; `sep` unset splits on runs of whitespace.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               long long maxsplit, bool from_right);
/// str.splitlines(): the line boundaries of Python, not just "\n".
std::vector<std::string> splitlines(std::string_view s);
/// str.replace(old, new, count); count < 0 replaces all.
std::string replace(std::string_view s, std::string_view old_text, std::string_view new_text,
                    long long count);

// Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; other scripts are
// left unchanged (documented in docs/jinja.md).
std::string lower(std::string_view s);
std::string upper(std::string_view s);
/// str.title(): a cased letter after a cased letter is lowered, every other one uppercased.
std::string title(std::string_view s);
/// str.capitalize(): first character uppercased, the rest lowered.
std::string capitalize(std::string_view s);
/// str.islower() / str.isupper(): at least one cased character and all of them in that case.
bool is_lower(std::string_view s);
bool is_upper(std::string_view s);

}  // namespace gemma::jinja::text
