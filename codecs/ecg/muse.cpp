// GE MUSE RestingECG XML (ISO-8859-1, restecg.dtd): Waveform elements of type Median and Rhythm,
// each with LeadData holding base64 little-endian 16-bit samples, a CRC-32 and the scale. Carts
// send the 8 independent leads (I, II, V1..V6); III, aVR, aVL and aVF are derived.
#include <array>
#include <cmath>
#include <cstdint>

#include "codecs/ecg/base64.hpp"
#include "codecs/ecg/read.hpp"
#include "codecs/ecg/xml_document.hpp"

namespace countylink::codecs::ecg {
namespace {

ParseResult fail(ErrorKind kind, const std::string& reason) {
    return ParseResult::fail(kind, "GE MUSE XML: " + reason);
}

// CRC-32 (IEEE 802.3, reflected 0xEDB88320), as LeadDataCRC32 carries it.
std::uint32_t crc32(std::span<const std::byte> data) {
    static constexpr auto kTable = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }();
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::byte b : data) c = kTable[(c ^ static_cast<std::uint8_t>(b)) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// MUSE dates are MM-DD-YYYY (or MM/DD/YYYY); ISO 8601 out, "" when not one.
std::string iso_date(std::string_view d) {
    if (d.size() != 10 || (d[2] != '-' && d[2] != '/')) return {};
    return std::string(d.substr(6, 4)) + "-" + std::string(d.substr(0, 2)) + "-" +
           std::string(d.substr(3, 2));
}

std::optional<double> microvolts_per(std::string_view units) {
    if (units.empty() || units == "MICROVOLTS") return 1.0;
    if (units == "MILLIVOLTS") return 1000.0;
    return std::nullopt;
}

void read_context(const XmlElement& root, Waveform& w) {
    XmlElement test = root.child("TestDemographics");
    std::string date = iso_date(test.child("AcquisitionDate").trimmed_text());
    std::string time = test.child("AcquisitionTime").trimmed_text();
    if (!date.empty()) w.acquisition_time = time.empty() ? date : date + "T" + time;
    w.device_model = test.child("AcquisitionDevice").trimmed_text();
    w.device_manufacturer = "GE";
    XmlElement patient = root.child("PatientDemographics");
    w.patient_id = patient.child("PatientID").trimmed_text();
    std::string last = patient.child("PatientLastName").trimmed_text();
    std::string first = patient.child("PatientFirstName").trimmed_text();
    if (!last.empty() || !first.empty()) w.patient_name = last + "^" + first;
    w.patient_birth_date = iso_date(patient.child("DateofBirth").trimmed_text());
    w.patient_sex = patient.child("Gender").trimmed_text();
    w.order_id = root.path({"Order", "OrderNumber"}).trimmed_text();

    static constexpr XmlMeasurementField kFields[] = {
        {"VentricularRate", "Ventricular rate", "/min"},
        {"AtrialRate", "Atrial rate", "/min"},
        {"PRInterval", "PR interval", "ms"},
        {"QRSDuration", "QRS duration", "ms"},
        {"QTInterval", "QT interval", "ms"},
        {"QTCorrected", "QTc", "ms"},
        {"QTcFrederica", "QTc Fridericia", "ms"},
        {"PAxis", "P axis", "deg"},
        {"RAxis", "QRS axis", "deg"},
        {"TAxis", "T axis", "deg"},
    };
    XmlElement measured = root.child("RestingECGMeasurements");
    read_measurement_fields(measured, kFields, w.measurements);
}

}  // namespace

ParseResult read_muse(std::span<const std::byte> bytes) {
    XmlParseResult xml = XmlDocument::parse(bytes, "RestingECG");
    if (!xml.document) return fail(xml.error.kind, xml.error.reason);
    XmlElement root = xml.document->root();
    XmlElement rhythm;
    for (const auto& waveform : root.children("Waveform"))
        if (waveform.child("WaveformType").trimmed_text() == "Rhythm") {
            rhythm = waveform;
            break;
        }
    if (!rhythm)
        return fail(ErrorKind::malformed, "no Waveform of WaveformType Rhythm" + root.where());

    auto base = parse_number(rhythm.child("SampleBase").text());
    auto exponent = parse_integer(rhythm.child("SampleExponent").text()).value_or(0);
    if (!base || *base <= 0 || exponent < -3 || exponent > 3)
        return fail(ErrorKind::malformed,
                    "no valid SampleBase/SampleExponent" + rhythm.child("SampleBase").where());
    Waveform w;
    w.format = Format::ge_muse;
    w.sample_rate_hz = *base * std::pow(10.0, static_cast<double>(exponent));
    if (w.sample_rate_hz > 1e5)
        return fail(ErrorKind::malformed, "sample rate beyond 100 kHz" + rhythm.where());

    auto leads = rhythm.children("LeadData");
    if (leads.empty()) return fail(ErrorKind::malformed, "Rhythm waveform has no LeadData");
    if (leads.size() > kMaxLeads)
        return fail(ErrorKind::too_large, "more than " + std::to_string(kMaxLeads) + " leads");
    // Every declared count is checked against the limits before any lead is decoded.
    std::size_t total = 0;
    for (const auto& data : leads) {
        auto count = parse_integer(data.child("LeadSampleCountTotal").text());
        if (!count || *count < 0)
            return fail(ErrorKind::malformed,
                        "LeadData without a LeadSampleCountTotal" + data.where());
        if (static_cast<unsigned long long>(*count) > kMaxTotalSamples - total)
            return fail(ErrorKind::too_large, "lead declares " + std::to_string(*count) +
                                                  " samples, beyond the limit of " +
                                                  std::to_string(kMaxTotalSamples) + " in all" +
                                                  data.where());
        total += static_cast<std::size_t>(*count);
    }

    for (const auto& data : leads) {
        std::string name = standard_lead_name(data.child("LeadID").text());
        auto count =
            static_cast<std::size_t>(*parse_integer(data.child("LeadSampleCountTotal").text()));
        auto per_bit = parse_number(data.child("LeadAmplitudeUnitsPerBit").text());
        auto unit = microvolts_per(data.child("LeadAmplitudeUnits").trimmed_text());
        if (!per_bit || *per_bit <= 0 || !unit)
            return fail(
                ErrorKind::malformed,
                "lead " + name + ": no usable LeadAmplitudeUnitsPerBit/Units" + data.where());
        if (auto size = data.child("LeadSampleSize"); size && size.trimmed_text() != "2")
            return fail(ErrorKind::unsupported, "lead " + name + ": LeadSampleSize " +
                                                    size.trimmed_text() + " (only 2)" +
                                                    size.where());
        XmlElement payload = data.child("WaveFormData");
        std::size_t bad_at = 0;
        auto raw = decode_base64(payload.text(), &bad_at);
        if (!raw)
            return fail(ErrorKind::malformed, "lead " + name +
                                                  ": WaveFormData is not valid base64 (character " +
                                                  std::to_string(bad_at) + ")" + payload.where());
        if (raw->size() < count * 2)
            return fail(ErrorKind::malformed, "lead " + name + ": declares " +
                                                  std::to_string(count) + " samples, data holds " +
                                                  std::to_string(raw->size() / 2) +
                                                  payload.where());
        if (auto crc = parse_integer(data.child("LeadDataCRC32").text());
            crc && static_cast<std::uint32_t>(*crc) != crc32(*raw))
            return fail(ErrorKind::malformed, "lead " + name +
                                                  ": LeadDataCRC32 does not match its data" +
                                                  data.child("LeadDataCRC32").where());
        Lead lead;
        lead.name = name;
        lead.microvolts.resize(count);
        double scale = *per_bit * *unit;
        for (std::size_t k = 0; k < count; ++k) {
            auto v = static_cast<std::int16_t>(static_cast<std::uint16_t>((*raw)[2 * k]) |
                                               static_cast<std::uint16_t>((*raw)[2 * k + 1]) << 8);
            lead.microvolts[k] = static_cast<float>(v * scale);
        }
        w.leads.push_back(std::move(lead));
    }
    derive_limb_leads(w);
    read_context(root, w);
    ParseResult result;
    result.waveform = std::move(w);
    return result;
}

}  // namespace countylink::codecs::ecg
