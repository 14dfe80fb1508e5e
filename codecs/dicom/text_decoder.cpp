#include "codecs/dicom/text_decoder.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcspchrs.h>
#include <dcmtk/ofstd/ofchrenc.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countylink::codecs::dicom {

namespace {

// What Chinese equipment that declares nothing actually sends.
constexpr const char* kUndeclaredCharset = "GB18030";
constexpr std::size_t kMaxListedTags = 3;
constexpr std::size_t kMaxQuotedChars = 64;
constexpr char kEsc = 0x1b;

// No byte that any character set would change: ASCII without ESC (ISO 2022 escapes are 7-bit).
bool is_plain_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80 && c != kEsc; });
}

std::string trim_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return std::string(s);
}

std::vector<std::string> split_terms(std::string_view charset) {
    std::vector<std::string> terms;
    while (true) {
        const auto sep = charset.find('\\');
        terms.push_back(trim_spaces(charset.substr(0, sep)));
        if (sep == std::string_view::npos) return terms;
        charset.remove_prefix(sep + 1);
    }
}

// glibc iconv has no JIS X 0208 on its own, so DCMTK cannot open ISO 2022 IR 87 or 159 here;
// EUC-JP holds the same sets, so such values are re-coded to EUC-JP byte for byte.
bool is_japanese_iso2022(const std::vector<std::string>& terms) {
    static const std::array<std::string_view, 5> kTerms{"", "ISO 2022 IR 6", "ISO 2022 IR 13",
                                                        "ISO 2022 IR 87", "ISO 2022 IR 159"};
    return std::all_of(terms.begin(), terms.end(), [](const std::string& t) {
        return std::find(kTerms.begin(), kTerms.end(), t) != kTerms.end();
    });
}

// PS3.5 6.1.2.5 / PS3.3 C.12.1.1.2 Japanese code extensions to EUC-JP: G0 ASCII or JIS X 0201
// Romaji (ESC ( B, ESC ( J), JIS X 0208 (ESC $ B, ESC $ @), JIS X 0212 (ESC $ ( D); G1 JIS X 0201
// Katakana (ESC ) I, in force from the start when value 1 is ISO 2022 IR 13). nullopt for
// anything else.
std::optional<std::string> iso2022_jp_to_euc_jp(std::string_view in, bool katakana_g1) {
    enum class G0 { single, jis0208, jis0212 } g0 = G0::single;
    std::string out;
    out.reserve(in.size() + in.size() / 2);
    const auto starts = [&](std::size_t i, std::string_view seq) {
        return in.substr(i, seq.size()) == seq;
    };
    const auto is_gl = [](unsigned char b) { return b >= 0x21 && b <= 0x7e; };
    for (std::size_t i = 0; i < in.size();) {
        const auto b = static_cast<unsigned char>(in[i]);
        if (b == static_cast<unsigned char>(kEsc)) {
            if (starts(i, "\x1b(B") || starts(i, "\x1b(J")) {
                g0 = G0::single;
                i += 3;
            } else if (starts(i, "\x1b$B") || starts(i, "\x1b$@")) {
                g0 = G0::jis0208;
                i += 3;
            } else if (starts(i, "\x1b$(D")) {
                g0 = G0::jis0212;
                i += 4;
            } else if (starts(i, "\x1b)I")) {
                katakana_g1 = true;
                i += 3;
            } else {
                return std::nullopt;
            }
        } else if (b >= 0x80) {
            if (!katakana_g1 || b < 0xa1 || b > 0xdf) return std::nullopt;
            out += '\x8e';
            out += static_cast<char>(b);
            ++i;
        } else if (g0 != G0::single && is_gl(b)) {
            if (i + 1 >= in.size() || !is_gl(static_cast<unsigned char>(in[i + 1]))) {
                return std::nullopt;
            }
            if (g0 == G0::jis0212) out += '\x8f';
            out += static_cast<char>(b | 0x80);
            out += static_cast<char>(static_cast<unsigned char>(in[i + 1]) | 0x80);
            i += 2;
        } else {
            // Control characters end a multi-byte run (PS3.5 6.1.2.5.3).
            if (b < 0x20) g0 = G0::single;
            out += static_cast<char>(b);
            ++i;
        }
    }
    return out;
}

std::string printable(std::string_view s) {
    std::string out = "\"";
    for (const char c : s.substr(0, kMaxQuotedChars)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out + "\"";
}

std::string listed(std::size_t count, const std::vector<std::string>& labels) {
    std::string out;
    for (const auto& label : labels) out += (out.empty() ? "" : ", ") + label;
    if (count > labels.size()) out += ", ...";
    return out;
}

void note(std::size_t& count, std::vector<std::string>& labels, std::string_view label) {
    ++count;
    if (labels.size() < kMaxListedTags &&
        std::find(labels.begin(), labels.end(), label) == labels.end()) {
        labels.emplace_back(label);
    }
}

// What is left when a value cannot be converted: its ASCII, every other byte (and ESC) a '?'.
std::string replace_non_ascii(std::string_view value) {
    std::string out(value);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) >= 0x80 || c == kEsc) c = '?';
    }
    return out;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        const unsigned char b = *p;
        if (b < 0x80) {
            ++p;
            continue;
        }
        std::size_t extra = 0;
        unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the first continuation byte
        if (b >= 0xc2 && b <= 0xdf) {
            extra = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
            extra = 2;
            if (b == 0xe0) lo = 0xa0;  // overlong
            if (b == 0xed) hi = 0x9f;  // surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
            extra = 3;
            if (b == 0xf0) lo = 0x90;  // overlong
            if (b == 0xf4) hi = 0x8f;  // past U+10FFFF
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= extra) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (std::size_t k = 2; k <= extra; ++k) {
            if (p[k] < 0x80 || p[k] > 0xbf) return false;
        }
        p += extra + 1;
    }
    return true;
}

struct TextDecoder::Converter {
    enum class Kind { dcmtk, japanese, none };
    Kind kind = Kind::none;
    bool katakana_g1 = false;
    DcmSpecificCharacterSet dicom;
    OFCharacterEncoding euc_jp;

    explicit Converter(const std::string& charset) {
        if (dicom.selectCharacterSet(charset.c_str(), "ISO_IR 192").good()) {
            kind = Kind::dcmtk;
            return;
        }
        const std::vector<std::string> terms = split_terms(charset);
        if (is_japanese_iso2022(terms) && euc_jp.selectEncoding("EUC-JP", "UTF-8").good()) {
            kind = Kind::japanese;
            katakana_g1 = terms.front() == "ISO 2022 IR 13";
        }
    }

    std::optional<std::string> convert(std::string_view value, bool person_name) {
        OFString out;
        switch (kind) {
            case Kind::dcmtk:
                // Code extensions switch back to the default set at these (PS3.5 6.1.2.5.3).
                if (dicom
                        .convertString(value.data(), value.size(), out, person_name ? "\\^=" : "\\")
                        .bad()) {
                    return std::nullopt;
                }
                break;
            case Kind::japanese: {
                const auto euc = iso2022_jp_to_euc_jp(value, katakana_g1);
                if (!euc || euc_jp.convertString(euc->data(), euc->size(), out).bad()) {
                    return std::nullopt;
                }
                break;
            }
            case Kind::none:
                return std::nullopt;
        }
        return std::string(out.c_str(), out.length());
    }
};

TextDecoder::TextDecoder(std::string specific_character_set)
    : charset_(trim_spaces(specific_character_set)) {}

TextDecoder::~TextDecoder() = default;

std::string TextDecoder::to_utf8(std::string_view value, std::string_view label, bool person_name) {
    if (is_plain_ascii(value)) return std::string(value);
    const bool declared = !charset_.empty();
    if (!declared) {
        // Modern equipment that forgets (0008,0005) usually means UTF-8; older Chinese consoles
        // mean GB18030, whose multi-byte sequences are almost never valid UTF-8.
        if (is_valid_utf8(value)) return std::string(value);
        note(guessed_count_, guessed_labels_, label);
    }
    if (!converter_)
        converter_ = std::make_unique<Converter>(declared ? charset_ : kUndeclaredCharset);
    if (auto out = converter_->convert(value, person_name); out && is_valid_utf8(*out)) {
        return std::move(*out);
    }
    note(failed_count_, failed_labels_, label);
    return replace_non_ascii(value);
}

void TextDecoder::add_findings(std::vector<Finding>& findings) const {
    if (guessed_count_ > 0) {
        findings.push_back({"undeclared_character_set",
                            "text uses bytes beyond ASCII but no Specific Character Set "
                            "(0008,0005); read as GB18030: " +
                                listed(guessed_count_, guessed_labels_)});
    }
    if (failed_count_ > 0) {
        const std::string from =
            charset_.empty() ? std::string("GB18030 (undeclared)") : printable(charset_);
        findings.push_back(
            {"character_set_not_converted", "text not convertible from " + from +
                                                " to UTF-8, non-ASCII bytes shown as '?': " +
                                                listed(failed_count_, failed_labels_)});
    }
}

}  // namespace countylink::codecs::dicom
