// Philips Sierra / PageWriter ECG XML (documenttype SierraECG 1.03, PhilipsECG 1.04.x): settings in
// dataacquisition/signalcharacteristics, the rhythm in waveforms/parsedwaveforms as base64, either
// XLI-compressed (one chunk per lead) or uncompressed (Base64 16-bit little-endian, or Plain text
// integers), leads one after the other.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <sstream>

#include "codecs/ecg/base64.hpp"
#include "codecs/ecg/read.hpp"
#include "codecs/ecg/xli.hpp"
#include "codecs/ecg/xml_document.hpp"

namespace countylink::codecs::ecg {
namespace {

ParseResult fail(ErrorKind kind, const std::string& reason) {
    return ParseResult::fail(kind, "Philips XML: " + reason);
}

// The element's number, else the attribute's, else nullopt.
std::optional<double> number_of(const XmlElement& element, const XmlElement& holder,
                                std::string_view attribute) {
    if (auto a = holder.attribute(attribute)) return parse_number(*a);
    if (element) return parse_number(element.text());
    return std::nullopt;
}

// Lead labels: the parsedwaveforms attribute (1.04), else the acquisition type's standard order.
std::vector<std::string> lead_labels(const XmlElement& signal, const XmlElement& waveforms) {
    std::vector<std::string> labels;
    if (auto given = waveforms.attribute("leadlabels")) {
        std::istringstream words(*given);
        for (std::string w; words >> w && labels.size() <= kMaxLeads;)
            labels.push_back(standard_lead_name(w));
        if (auto n = parse_integer(waveforms.attr("numberofleads"));
            n && *n >= 0 && static_cast<std::size_t>(*n) < labels.size())
            labels.resize(static_cast<std::size_t>(*n));
        return labels;
    }
    // Valid channels, not allocated ones: carts allocate 16 and fill 12.
    XmlElement channels = signal.child("numberchannelsvalid");
    if (!channels) channels = signal.child("numberchannelsallocated");
    auto count = parse_integer(channels.text()).value_or(0);
    std::string type = signal.child("acquisitiontype").trimmed_text();
    bool standard = type == "STD-12" || type == "10-WIRE";
    for (long long i = 0; i < count && labels.size() <= kMaxLeads; ++i)
        labels.push_back(standard && i < 12 ? std::string(standard_leads()[i])
                                            : "Channel " + std::to_string(i + 1));
    return labels;
}

// XLI stores III, aVR, aVL and aVF as residuals against what I and II (and III) predict.
void rebuild_limb_leads(std::vector<std::vector<std::int16_t>>& leads,
                        std::vector<std::vector<std::int32_t>>& out) {
    for (const auto& l : leads) out.emplace_back(l.begin(), l.end());
    std::size_t n = out[0].size();
    for (std::size_t k = 1; k < 6; ++k) n = std::min(n, out[k].size());
    for (std::size_t j = 0; j < n; ++j) {
        std::int32_t i = out[0][j], ii = out[1][j];
        std::int32_t iii = ii - i - out[2][j];
        out[2][j] = iii;
        out[3][j] = -((i + ii) / 2) - out[3][j];
        out[4][j] = (i - iii) / 2 - out[4][j];
        out[5][j] = (ii + iii) / 2 - out[5][j];
    }
}

// Plain: white-space separated integers, the leads one after the other.
std::string split_plain(std::string_view text, std::size_t leads, std::size_t per_lead,
                        std::vector<std::vector<std::int32_t>>& out) {
    const char* p = text.data();
    const char* end = p + text.size();
    for (std::size_t l = 0; l < leads; ++l) {
        auto& lead = out.emplace_back();
        lead.reserve(per_lead);
        while (lead.size() < per_lead) {
            while (p < end && std::isspace(static_cast<unsigned char>(*p))) ++p;
            if (p == end)
                return "Plain parsedwaveforms ends in lead " + std::to_string(l + 1) + " after " +
                       std::to_string(lead.size()) + " of " + std::to_string(per_lead) + " samples";
            std::int32_t v = 0;
            auto [next, ec] = std::from_chars(p, end, v);
            if (ec != std::errc() ||
                (next < end && !std::isspace(static_cast<unsigned char>(*next))))
                return "Plain parsedwaveforms: lead " + std::to_string(l + 1) + " sample " +
                       std::to_string(lead.size() + 1) + " is not an integer";
            lead.push_back(v);
            p = next;
        }
    }
    return {};
}

// Uncompressed Base64: 16-bit little-endian samples, the leads one after the other.
std::string split_base64(std::span<const std::byte> data, std::size_t leads, std::size_t per_lead,
                         std::vector<std::vector<std::int32_t>>& out) {
    std::size_t need = leads * per_lead * 2;
    if (data.size() < need)
        return "uncompressed parsedwaveforms holds " + std::to_string(data.size()) + " bytes, " +
               std::to_string(need) + " declared";
    for (std::size_t l = 0; l < leads; ++l) {
        auto& lead = out.emplace_back(per_lead);
        for (std::size_t k = 0; k < per_lead; ++k) {
            std::size_t at = (l * per_lead + k) * 2;
            lead[k] = static_cast<std::int16_t>(static_cast<std::uint16_t>(data[at]) |
                                                static_cast<std::uint16_t>(data[at + 1]) << 8);
        }
    }
    return {};
}

// XLI: a chunk per allocated channel (16 on PageWriters); the first ones are the declared leads,
// the rest unused channels. III, aVR, aVL and aVF come back from their residuals.
std::string split_xli(std::span<const std::byte> data, const std::vector<std::string>& labels,
                      std::size_t per_lead, std::vector<std::vector<std::int32_t>>& out) {
    // Some slack over the declared duration; the lead is cut to it afterwards.
    XliLeads xli = decode_xli(data, labels.size(), per_lead + per_lead / 8 + 64);
    if (!xli.error.empty()) return xli.error;
    if (xli.leads.size() < labels.size())
        return "XLI data holds " + std::to_string(xli.leads.size()) +
               " leads, the document declares " + std::to_string(labels.size());
    bool limb = labels.size() >= 6;
    for (std::size_t k = 0; limb && k < 6; ++k) limb = labels[k] == standard_leads()[k];
    if (limb) {
        rebuild_limb_leads(xli.leads, out);
    } else {
        for (const auto& l : xli.leads) out.emplace_back(l.begin(), l.end());
    }
    return {};
}

std::string not_blank(std::string s) {
    return s == "---" ? std::string() : s;
}

void read_context(const XmlElement& root, Waveform& w) {
    XmlElement acquisition = root.child("dataacquisition");
    std::string date = acquisition.attr("date"), time = acquisition.attr("time");
    if (!date.empty()) w.acquisition_time = time.empty() ? date : date + "T" + time;
    w.device_model = acquisition.child("machine").trimmed_text();
    w.device_manufacturer = "Philips";
    XmlElement patient = root.path({"patient", "generalpatientdata"});
    w.patient_id = not_blank(patient.child("patientid").trimmed_text());
    std::string last = not_blank(patient.path({"name", "lastname"}).trimmed_text());
    std::string first = not_blank(patient.path({"name", "firstname"}).trimmed_text());
    if (!last.empty() || !first.empty()) w.patient_name = last + "^" + first;
    w.patient_birth_date = not_blank(patient.path({"age", "dateofbirth"}).trimmed_text());
    w.patient_sex = patient.child("sex").trimmed_text();
    w.order_id = not_blank(root.path({"orderinfo", "ordernumber"}).trimmed_text());

    // 1.03 keeps its summary in measurements/globalmeasurements, 1.04 in the interpretation's.
    XmlElement global = root.path({"measurements", "globalmeasurements"});
    if (!global) global = root.descendant("globalmeasurements");
    static constexpr XmlMeasurementField kFields[] = {
        {"meanventrate", "Ventricular rate", "/min"},
        {"heartrate", "Ventricular rate", "/min"},
        {"atrialrate", "Atrial rate", "/min"},
        {"meanprint", "PR interval", "ms"},
        {"print", "PR interval", "ms"},
        {"meanqrsdur", "QRS duration", "ms"},
        {"qrsdur", "QRS duration", "ms"},
        {"meanqtint", "QT interval", "ms"},
        {"qtint", "QT interval", "ms"},
        {"meanqtc", "QTc", "ms"},
        {"qtcb", "QTc", "ms"},
        {"pfrontaxis", "P axis", "deg"},
        {"qrsfrontaxis", "QRS axis", "deg"},
        {"tfrontaxis", "T axis", "deg"},
    };
    read_measurement_fields(global, kFields, w.measurements);
}

}  // namespace

ParseResult read_sierra(std::span<const std::byte> bytes) {
    XmlParseResult xml = XmlDocument::parse(bytes, "restingecgdata");
    if (!xml.document) return fail(xml.error.kind, xml.error.reason);
    XmlElement root = xml.document->root();
    XmlElement info = root.child("documentinfo");
    std::string type = info.child("documenttype").trimmed_text();
    std::string version = info.child("documentversion").trimmed_text();
    if (type != "SierraECG" && type != "PhilipsECG")
        return fail(ErrorKind::malformed, "documenttype '" + type +
                                              "' is not SierraECG or PhilipsECG" +
                                              info.child("documenttype").where());
    if (version != "1.03" && version != "1.04" && !version.starts_with("1.04."))
        return fail(ErrorKind::unsupported, "documentversion '" + version +
                                                "' (1.03 and 1.04.x are read)" +
                                                info.child("documentversion").where());

    XmlElement signal = root.path({"dataacquisition", "signalcharacteristics"});
    XmlElement waves = root.path({"waveforms", "parsedwaveforms"});
    if (!waves) return fail(ErrorKind::malformed, "no waveforms/parsedwaveforms element");
    auto rate = number_of(signal.child("samplingrate"), waves, "samplespersecond");
    XmlElement resolution_element = signal.child("signalresolution");
    if (!resolution_element) resolution_element = signal.child("resolution");
    auto resolution = number_of(resolution_element, waves, "resolution");
    double offset = number_of(signal.child("signaloffset"), waves, "signaloffset").value_or(0);
    auto duration_ms = parse_number(waves.attr("durationperchannel"));
    if (!rate || *rate <= 0 || *rate > 1e5)
        return fail(ErrorKind::malformed, "no plausible sampling rate" + signal.where());
    if (!resolution || *resolution <= 0)
        return fail(ErrorKind::malformed, "no signal resolution (uV per bit)" + signal.where());
    if (!duration_ms || *duration_ms <= 0)
        return fail(ErrorKind::malformed,
                    "parsedwaveforms has no valid durationperchannel" + waves.where());

    std::vector<std::string> labels = lead_labels(signal, waves);
    if (labels.empty()) return fail(ErrorKind::malformed, "no leads declared" + signal.where());
    if (labels.size() > kMaxLeads)
        return fail(ErrorKind::too_large, "more than " + std::to_string(kMaxLeads) + " leads");
    double declared = std::round(*duration_ms * *rate / 1000.0);
    if (declared * static_cast<double>(labels.size()) > static_cast<double>(kMaxTotalSamples))
        return fail(ErrorKind::too_large,
                    "declares " + std::to_string(static_cast<long long>(declared)) + " samples x " +
                        std::to_string(labels.size()) + " leads, beyond the limit");
    auto per_lead = static_cast<std::size_t>(declared);

    std::string encoding = waves.attr("dataencoding");
    if (encoding != "Base64" && encoding != "Plain")
        return fail(ErrorKind::unsupported,
                    "dataencoding '" + encoding + "' (Base64 and Plain are read)" + waves.where());
    std::string method = waves.attribute("compressmethod")
                             .value_or(waves.attribute("compression").value_or("Uncompressed"));
    if (waves.attr("compressflag") == "False") method = "Uncompressed";
    if (method != "XLI" && method != "Uncompressed")
        return fail(ErrorKind::unsupported,
                    "compression '" + method + "' (XLI and uncompressed are read)" + waves.where());
    if (method == "XLI" && encoding != "Base64")
        return fail(ErrorKind::unsupported, "XLI data that is not Base64" + waves.where());

    std::vector<std::vector<std::int32_t>> samples;
    std::string why;
    if (encoding == "Plain") {
        why = split_plain(waves.text(), labels.size(), per_lead, samples);
    } else {
        std::size_t bad_at = 0;
        auto data = decode_base64(waves.text(), &bad_at);
        if (!data)
            return fail(ErrorKind::malformed, "parsedwaveforms is not valid base64 (character " +
                                                  std::to_string(bad_at) + ")" + waves.where());
        why = method == "XLI" ? split_xli(*data, labels, per_lead, samples)
                              : split_base64(*data, labels.size(), per_lead, samples);
    }
    if (!why.empty()) return fail(ErrorKind::malformed, why + waves.where());

    Waveform w;
    w.format = Format::philips_sierra;
    w.sample_rate_hz = *rate;
    for (std::size_t l = 0; l < labels.size(); ++l) {
        Lead lead;
        lead.name = labels[l];
        std::size_t n = std::min(samples[l].size(), per_lead);
        lead.microvolts.resize(n);
        for (std::size_t k = 0; k < n; ++k)
            lead.microvolts[k] =
                static_cast<float>((static_cast<double>(samples[l][k]) - offset) * *resolution);
        w.leads.push_back(std::move(lead));
    }
    read_context(root, w);
    ParseResult result;
    result.waveform = std::move(w);
    return result;
}

}  // namespace countylink::codecs::ecg
