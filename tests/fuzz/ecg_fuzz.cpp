// ECG uploads: sniffing and read_ecg, which hands each format to its parser. The first byte
// picks the Content-Type the upload came with (most often none, so the bytes decide).
// Invariants: parsers return a result, never throw; a waveform stays within the declared limits.
#include <string_view>

#include "codecs/ecg/read.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {

int ecg(std::span<const std::byte> input) {
    static constexpr std::string_view kTypes[] = {
        "",
        "application/dicom",
        "application/x-scp-ecg",
        "application/hl7-v3+xml",
        "application/edf",
        "application/octet-stream",
    };
    if (input.empty()) return 0;
    const auto type = kTypes[static_cast<uint8_t>(input[0]) % std::size(kTypes)];
    const auto bytes = input.subspan(1);
    (void)codecs::ecg::sniff(bytes);
    const auto result = codecs::ecg::read_ecg(bytes, type);
    if (result.ok()) {
        const auto& w = *result.waveform;
        if (w.leads.size() > codecs::ecg::kMaxLeads) fail("ECG: more leads than kMaxLeads");
        std::size_t samples = 0;
        for (const auto& lead : w.leads) samples += lead.microvolts.size();
        if (samples > codecs::ecg::kMaxTotalSamples) fail("ECG: more samples than the limit");
        (void)w.duration_s();
    } else if (result.error.reason.empty()) {
        fail("ECG: a refusal without a reason");
    }
    return 0;
}

}  // namespace countylink::fuzz
