#include "codecs/ecg/quality.hpp"

namespace countylink::codecs::ecg {

std::string_view verdict_name(Verdict verdict) {
    return verdict == Verdict::acceptable ? "acceptable" : "unacceptable";
}

// Placeholder until the gate lands: only refuses records without samples.
QualityReport assess(const Waveform& waveform) {
    QualityReport report;
    if (waveform.leads.empty() || waveform.duration_s() <= 0) {
        report.verdict = Verdict::unacceptable;
        report.findings.push_back({"too_short", "", "no samples: record again"});
    }
    return report;
}

}  // namespace countylink::codecs::ecg
