#include "codecs/ecg/lead_codes.hpp"

#include <array>
#include <charconv>

namespace countylink::codecs::ecg {

namespace {

constexpr std::array<LeadCode, 24> kCodes{{
    {"I", 1, "Lead I"},      {"II", 2, "Lead II"},    {"V1", 3, "Lead V1"},
    {"V2", 4, "Lead V2"},    {"V3", 5, "Lead V3"},    {"V4", 6, "Lead V4"},
    {"V5", 7, "Lead V5"},    {"V6", 8, "Lead V6"},    {"V7", 9, "Lead V7"},
    {"V2R", 10, "Lead V2R"}, {"V3R", 11, "Lead V3R"}, {"V4R", 12, "Lead V4R"},
    {"V5R", 13, "Lead V5R"}, {"V6R", 14, "Lead V6R"}, {"V7R", 15, "Lead V7R"},
    {"X", 16, "Lead X"},     {"Y", 17, "Lead Y"},     {"Z", 18, "Lead Z"},
    {"III", 61, "Lead III"}, {"aVR", 62, "Lead aVR"}, {"aVL", 63, "Lead aVL"},
    {"aVF", 64, "Lead aVF"}, {"V8", 66, "Lead V8"},   {"V9", 67, "Lead V9"},
}};

constexpr LeadCode kUnspecified{"", 0, "Unspecified lead"};

// N from "<prefix>N"; nullopt if the rest is not a plain decimal number.
std::optional<int> number_after(std::string_view value, std::string_view prefix) {
    if (!value.starts_with(prefix)) return std::nullopt;
    value.remove_prefix(prefix.size());
    int n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
    return n;
}

}  // namespace

const LeadCode* lead_code(std::string_view lead) {
    for (const auto& c : kCodes)
        if (c.lead == lead) return &c;
    return nullptr;
}

const LeadCode& unspecified_lead_code() {
    return kUnspecified;
}

std::string mdc_code_value(const LeadCode& code) {
    return "2:" + std::to_string(code.number);
}

std::optional<std::string> lead_from_code(std::string_view scheme, std::string_view value) {
    std::optional<int> n;
    if (scheme == "MDC") n = number_after(value, "2:");
    if (scheme == "SCPECG") n = number_after(value, "5.6.3-9-");
    if (!n) return std::nullopt;
    for (const auto& c : kCodes)
        if (c.number == *n) return std::string(c.lead);
    return std::nullopt;
}

}  // namespace countylink::codecs::ecg
