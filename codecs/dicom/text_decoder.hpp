// The few text values the index keeps (names, IDs, descriptions), turned into UTF-8 from the
// character set the dataset declares in Specific Character Set (0008,0005). The stored object
// keeps its own bytes: only these copies are converted.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/dicom/dataset_check.hpp"

namespace countylink::codecs::dicom {

// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// One per dataset read: the converter is opened once, on the first value that needs it (most
// values are ASCII and cost a scan). Never throws for content; guesses and failures are findings.
class TextDecoder {
  public:
    // `specific_character_set`: the (0008,0005) value, backslashes included; empty when absent.
    explicit TextDecoder(std::string specific_character_set);
    ~TextDecoder();
    TextDecoder(const TextDecoder&) = delete;
    TextDecoder& operator=(const TextDecoder&) = delete;

    // `value` in UTF-8; `label` names the element in findings. `person_name` (PN) also makes '^'
    // and '=' delimiters where code extensions switch back; every '=' group is kept and converted.
    std::string to_utf8(std::string_view value, std::string_view label, bool person_name);

    // Appends undeclared_character_set (GB18030 guessed) and character_set_not_converted
    // (non-ASCII bytes shown as '?'), each naming up to three elements; nothing if all went well.
    void add_findings(std::vector<Finding>& findings) const;

  private:
    struct Converter;
    std::string charset_;
    std::unique_ptr<Converter> converter_;  // opened lazily
    std::size_t guessed_count_ = 0, failed_count_ = 0;
    std::vector<std::string> guessed_labels_, failed_labels_;
};

}  // namespace countylink::codecs::dicom
