#include "codecs/ecg/waveform.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace countylink::codecs::ecg {

std::string_view format_name(Format format) {
    switch (format) {
        case Format::dicom:
            return "dicom";
        case Format::hl7_aecg:
            return "hl7-aecg";
        case Format::scp_ecg:
            return "scp-ecg";
        case Format::philips_sierra:
            return "philips-sierra";
        case Format::ge_muse:
            return "ge-muse";
        case Format::wfdb:
            return "wfdb";
        case Format::edf:
            return "edf";
    }
    return "unknown";
}

double Waveform::duration_s() const {
    std::size_t longest = 0;
    for (const auto& l : leads) longest = std::max(longest, l.microvolts.size());
    return sample_rate_hz > 0 ? static_cast<double>(longest) / sample_rate_hz : 0.0;
}

const Lead* Waveform::lead(std::string_view name) const {
    for (const auto& l : leads)
        if (l.name == name) return &l;
    return nullptr;
}

ParseResult ParseResult::fail(ErrorKind kind, std::string reason) {
    ParseResult r;
    r.error.kind = kind;
    r.error.reason = std::move(reason);
    return r;
}

namespace {
constexpr std::array<std::string_view, 12> kStandard = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                                        "V1", "V2", "V3",  "V4",  "V5",  "V6"};

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}
}  // namespace

std::span<const std::string_view> standard_leads() {
    return kStandard;
}

std::string standard_lead_name(std::string_view name) {
    std::string_view t = trim(name);
    std::string u = upper(t);
    // Strip the prefixes and suffixes formats wrap lead names in.
    for (std::string_view prefix : {"MDC_ECG_LEAD_", "LEAD_", "LEAD "})
        if (u.starts_with(prefix)) u.erase(0, prefix.size());
    if (auto p = u.find(" ("); p != std::string::npos) u.erase(p);  // "I (Einthoven)"
    if (u == "DI") u = "I";
    if (u == "DII") u = "II";
    if (u == "DIII") u = "III";
    for (auto s : kStandard)
        if (u == upper(s)) return std::string(s);
    return std::string(t);
}

void derive_limb_leads(Waveform& w) {
    const Lead* i = w.lead("I");
    const Lead* ii = w.lead("II");
    if (!i || !ii || w.lead("III") || w.lead("aVR") || w.lead("aVL") || w.lead("aVF")) return;
    std::size_t n = std::min(i->microvolts.size(), ii->microvolts.size());
    Lead iii{"III", {}}, avr{"aVR", {}}, avl{"aVL", {}}, avf{"aVF", {}};
    for (Lead* l : {&iii, &avr, &avl, &avf}) l->microvolts.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
        float a = i->microvolts[k], b = ii->microvolts[k];
        iii.microvolts[k] = b - a;
        avr.microvolts[k] = -(a + b) / 2;
        avl.microvolts[k] = a - b / 2;
        avf.microvolts[k] = b - a / 2;
    }
    for (Lead* l : {&iii, &avr, &avl, &avf}) w.leads.push_back(std::move(*l));
}

}  // namespace countylink::codecs::ecg
