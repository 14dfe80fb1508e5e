// The XML ECG formats (HL7 aECG, Philips Sierra XML, GE MUSE XML): every corpus file reads with
// the lead count, rate and duration its MANIFEST row gives (or is refused where the row says
// BROKEN), the same recording in two formats gives the same samples, and hostile documents
// (XXE, billion laughs, truncation, lying lengths, bad base64) are refused with a reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codecs/ecg/base64.hpp"
#include "codecs/ecg/read.hpp"
#include "codecs/ecg/xml_document.hpp"
#include "tests/support/shared_data.hpp"

namespace fs = std::filesystem;
using namespace countylink::codecs::ecg;

namespace {

fs::path ecg_corpus() {
    return countylink::testing::shared_path("corpus/ecg");
}

std::string slurp(const std::string& relative) {
    fs::path path = ecg_corpus() / relative;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("missing corpus file " + path.string() + ": is ../shared there?");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::span<const std::byte> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    if (at == std::string::npos) throw std::runtime_error("test fixture lacks '" + from + "'");
    return text.replace(at, from.size(), to);
}

std::string to_base64(const std::vector<unsigned char>& bytes) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        unsigned v = bytes[i] << 16;
        if (i + 1 < bytes.size()) v |= bytes[i + 1] << 8;
        if (i + 2 < bytes.size()) v |= bytes[i + 2];
        out += abc[(v >> 18) & 63];
        out += abc[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? abc[(v >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? abc[v & 63] : '=';
    }
    return out;
}

struct Expected {
    std::string file;
    Format format;
    std::size_t leads;
    double rate;
    double duration_s;
};

void expect_reads_as(const Expected& e) {
    SCOPED_TRACE(e.file);
    std::string bytes = slurp(e.file);
    ParseResult r = read_ecg(as_bytes(bytes));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    EXPECT_EQ(format_name(w.format), format_name(e.format));
    EXPECT_EQ(w.leads.size(), e.leads);
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, e.rate);
    EXPECT_NEAR(w.duration_s(), e.duration_s, 1e-9);
    if (e.leads == 12) {
        for (auto name : standard_leads()) EXPECT_NE(w.lead(name), nullptr) << name;
    }
    for (const auto& lead : w.leads) {
        EXPECT_EQ(lead.microvolts.size(), w.leads[0].microvolts.size()) << lead.name;
        // Real recordings: not flat, and within a plausible ECG range (no decoding garbage).
        auto [lo, hi] = std::minmax_element(lead.microvolts.begin(), lead.microvolts.end());
        EXPECT_LT(*lo, *hi) << lead.name;
        EXPECT_GT(*lo, -20000.0f) << lead.name;
        EXPECT_LT(*hi, 20000.0f) << lead.name;
    }
}

// Largest difference between the same lead in two readings, in microvolts.
double max_difference(const Waveform& a, const Waveform& b, const std::string& lead) {
    const Lead* x = a.lead(lead);
    const Lead* y = b.lead(lead);
    if (!x || !y || x->microvolts.size() != y->microvolts.size()) return INFINITY;
    double worst = 0;
    for (std::size_t k = 0; k < x->microvolts.size(); ++k)
        worst = std::max(worst, std::fabs(double(x->microvolts[k]) - y->microvolts[k]));
    return worst;
}

ParseError refusal(ParseResult (*reader)(std::span<const std::byte>), const std::string& doc) {
    ParseResult r = reader(as_bytes(doc));
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.error.reason.empty());
    return r.error;
}

bool mentions(const ParseError& e, const std::string& words) {
    return e.reason.find(words) != std::string::npos;
}

// A small aECG with the given lead sequences inside one sequenceSet at 500 Hz.
std::string aecg_with(const std::string& leads, const std::string& doctype = "") {
    return std::string("<?xml version=\"1.0\"?>\n") + doctype +
           R"(<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<component><series><code code="RHYTHM"/><component><sequenceSet>
<component><sequence><code code="TIME_ABSOLUTE"/><value xsi:type="GLIST_TS">
<head value="20240102030405"/><increment value="0.002" unit="s"/></value></sequence></component>
)" + leads +
           "</sequenceSet></component></series></component></AnnotatedECG>\n";
}

std::string aecg_lead(const std::string& code, const std::string& digits,
                      const std::string& scale = R"(<scale value="1" unit="mV"/>)") {
    return R"(<component><sequence><code code=")" + code +
           R"("/><value xsi:type="SLIST_PQ"><origin value="0" unit="uV"/>)" + scale + "<digits>" +
           digits + "</digits></value></sequence></component>\n";
}

}  // namespace

// --- Corpus: every XML ECG file against its MANIFEST row --------------------------------------

TEST(EcgXmlCorpus, AecgFilesReadWithManifestLeadsRateAndDuration) {
    // MANIFEST: leads and fs per file; durations from each series' effectiveTime low..high.
    for (const Expected& e : std::vector<Expected>{
             {"aecg/Example_aECG.xml", Format::hl7_aecg, 12, 500, 10.0},
             {"aecg/subject1_0.xml", Format::hl7_aecg, 12, 500, 10.0},
             {"aecg/hl7aecg_example.xml", Format::hl7_aecg, 12, 100, 10.0},  // schema-invalid
             {"aecg/ad4d3d80-d165_1-04_converted.xml", Format::hl7_aecg, 12, 500, 11.0},
         })
        expect_reads_as(e);
}

TEST(EcgXmlCorpus, MinimumAecgHasOneLeadWithScaledDigits) {
    std::string bytes = slurp("aecg/minimum_aecg.xml");
    ParseResult r = read_aecg(as_bytes(bytes));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    ASSERT_EQ(r.waveform->leads.size(), 1u);
    const Lead& ii = r.waveform->leads[0];
    EXPECT_EQ(ii.name, "II");
    // <digits>-2 -2 -2 -2 -3 -4 -3 -5 -5 -4 -6 -9 -9</digits>, scale 2.5 uV, origin 0.
    const std::vector<float> want = {-5,    -5,    -5,  -5,  -7.5,  -10,  -7.5,
                                     -12.5, -12.5, -10, -15, -22.5, -22.5};
    EXPECT_EQ(ii.microvolts, want);
    EXPECT_DOUBLE_EQ(r.waveform->sample_rate_hz, 500);
    EXPECT_EQ(r.waveform->acquisition_time, "2002-11-22T09:10:00");
    EXPECT_EQ(r.waveform->patient_id, "SBJ-123");
}

TEST(EcgXmlCorpus, EmptyAecgIsRefusedAsBroken) {
    std::string bytes = slurp("aecg/empty.xml");
    ParseResult r = read_ecg(as_bytes(bytes));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::malformed);
    EXPECT_TRUE(mentions(r.error, "HL7 aECG")) << r.error.reason;
    EXPECT_TRUE(mentions(r.error, "no component/series")) << r.error.reason;
}

TEST(EcgXmlCorpus, AecgCarriesSubjectDeviceTimeAndMeasurements) {
    std::string bytes = slurp("aecg/Example_aECG.xml");
    ParseResult r = read_aecg(as_bytes(bytes));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    EXPECT_EQ(w.acquisition_time, "2002-11-22T09:10:00");
    EXPECT_EQ(w.patient_id, "SBJ-123");
    EXPECT_EQ(w.patient_name, "Clark");
    EXPECT_EQ(w.patient_sex, "M");
    EXPECT_EQ(w.patient_birth_date, "1953-05-08");
    EXPECT_EQ(w.device_model, "ELI250");
    EXPECT_EQ(w.device_manufacturer, "Mortara Instrument, Inc.");

    std::string converted = slurp("aecg/ad4d3d80-d165_1-04_converted.xml");
    ParseResult c = read_aecg(as_bytes(converted));
    ASSERT_TRUE(c.ok()) << c.error.reason;
    auto has = [&](const std::string& name, double value, const std::string& unit) {
        return std::any_of(c.waveform->measurements.begin(), c.waveform->measurements.end(),
                           [&](const Measurement& m) {
                               return m.name == name && m.value == value && m.unit == unit;
                           });
    };
    // MDC_ECG_HEART_RATE 41 /min and MDC_ECG_TIME_PD_QRS 102 (no unit written): the names the
    // Philips original gives for the same values.
    EXPECT_TRUE(has("Ventricular rate", 41, "/min"));
    EXPECT_TRUE(has("QRS duration", 102, "ms"));
    EXPECT_EQ(c.waveform->patient_birth_date, "1976-01-01");
    EXPECT_EQ(c.waveform->device_model, "PageWriter Touch");
}

TEST(EcgXmlCorpus, PhilipsFilesReadWithManifestLeadsRateAndDuration) {
    // MANIFEST: 12 ch, fs=500 Hz; durationperchannel="11000" ms in every file.
    for (const Expected& e : std::vector<Expected>{
             {"other/sierra_129DYPRG.XML", Format::philips_sierra, 12, 500, 11.0},
             {"other/sierra_repbeats_example.xml", Format::philips_sierra, 12, 500, 11.0},
             {"other/sierra_3191723_ZZDEMOPTONLY_1-04_orig.xml", Format::philips_sierra, 12, 500,
              11.0},  // UTF-16LE with BOM and CRLF
             {"other/sierra_ad4d3d80-d165_1-04_orig.xml", Format::philips_sierra, 12, 500, 11.0},
         })
        expect_reads_as(e);
}

TEST(EcgXmlCorpus, PhilipsWithForeignDocumentTypeIsRefused) {
    std::string bytes = slurp("other/sierra_invalid-doc-type.xml");
    ParseResult r = read_ecg(as_bytes(bytes));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::malformed);
    EXPECT_TRUE(mentions(r.error, "documenttype 'MortaraECG'")) << r.error.reason;
}

TEST(EcgXmlCorpus, PhilipsCarriesPatientMachineAndMeasurements) {
    std::string bytes = slurp("other/sierra_ad4d3d80-d165_1-04_orig.xml");
    ParseResult r = read_sierra(as_bytes(bytes));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    EXPECT_EQ(w.acquisition_time, "2008-12-23T19:44:46");
    EXPECT_EQ(w.patient_id, "9999");
    EXPECT_EQ(w.patient_sex, "Female");
    EXPECT_EQ(w.patient_birth_date, "1976-01-01");
    EXPECT_EQ(w.device_model, "PageWriter Touch");
    auto qrs = std::find_if(w.measurements.begin(), w.measurements.end(),
                            [](const Measurement& m) { return m.name == "QRS duration"; });
    ASSERT_NE(qrs, w.measurements.end());
    EXPECT_EQ(qrs->value, 102);
}

TEST(EcgXmlCorpus, MuseFilesReadTheRhythmAndDeriveTheLimbLeads) {
    // MANIFEST: Rhythm 8 leads @ 500 Hz (plus a Median set that must not be read); every lead
    // declares LeadSampleCountTotal 5000, i.e. 10 s. III, aVR, aVL, aVF are derived: 12 leads.
    for (int n = 1; n <= 4; ++n)
        expect_reads_as(
            {"other/muse_example" + std::to_string(n) + ".xml", Format::ge_muse, 12, 500, 10.0});
    std::string bytes = slurp("other/muse_example1.xml");
    ParseResult r = read_muse(as_bytes(bytes));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    const Lead *i = w.lead("I"), *ii = w.lead("II"), *iii = w.lead("III"), *avr = w.lead("aVR");
    ASSERT_TRUE(i && ii && iii && avr);
    for (std::size_t k = 0; k < i->microvolts.size(); k += 97) {
        EXPECT_FLOAT_EQ(iii->microvolts[k], ii->microvolts[k] - i->microvolts[k]);
        EXPECT_FLOAT_EQ(avr->microvolts[k], -(i->microvolts[k] + ii->microvolts[k]) / 2);
    }
    auto rate = std::find_if(w.measurements.begin(), w.measurements.end(),
                             [](const Measurement& m) { return m.name == "Ventricular rate"; });
    ASSERT_NE(rate, w.measurements.end());
    EXPECT_EQ(rate->value, 48);
    EXPECT_EQ(rate->unit, "/min");
}

// --- The same recording in two formats --------------------------------------------------------

TEST(EcgXmlSameRecording, PhilipsXliAndItsAecgConversionAgree) {
    std::string philips = slurp("other/sierra_ad4d3d80-d165_1-04_orig.xml");
    std::string aecg = slurp("aecg/ad4d3d80-d165_1-04_converted.xml");
    ParseResult p = read_sierra(as_bytes(philips));
    ParseResult a = read_aecg(as_bytes(aecg));
    ASSERT_TRUE(p.ok()) << p.error.reason;
    ASSERT_TRUE(a.ok()) << a.error.reason;
    // Both at 5 uV per bit, same 5500 samples, same alignment. The converter (TraceMasterVue)
    // ran its adaptive 60 Hz notch filter (the aECG's controlVariable says so): the differences
    // are that filter's output: at most four bits, under one bit on average. A decoding
    // error in XLI's second-difference predictor would instead accumulate without bound.
    for (auto lead : standard_leads()) {
        std::string name(lead);
        EXPECT_LE(max_difference(*p.waveform, *a.waveform, name), 20.0) << name;
        const Lead* from_philips = p.waveform->lead(name);
        const Lead* from_aecg = a.waveform->lead(name);
        ASSERT_TRUE(from_philips && from_aecg) << name;
        const auto& x = from_philips->microvolts;
        const auto& y = from_aecg->microvolts;
        ASSERT_EQ(x.size(), 5500u);
        ASSERT_EQ(y.size(), 5500u);
        double total = 0;
        for (std::size_t k = 0; k < x.size(); ++k) total += std::fabs(double(x[k]) - y[k]);
        EXPECT_LE(total / double(x.size()), 5.0) << name;  // under one bit on average
    }
}

TEST(EcgXmlSameRecording, Hl7ExampleAndItsFdaCopyAgree) {
    std::string example = slurp("aecg/Example_aECG.xml");
    std::string subject = slurp("aecg/subject1_0.xml");
    ParseResult x = read_aecg(as_bytes(example));
    ParseResult s = read_aecg(as_bytes(subject));
    ASSERT_TRUE(x.ok()) << x.error.reason;
    ASSERT_TRUE(s.ok()) << s.error.reason;
    for (auto lead : standard_leads())
        EXPECT_EQ(max_difference(*x.waveform, *s.waveform, std::string(lead)), 0.0) << lead;
}

// --- The safe XML layer -----------------------------------------------------------------------

TEST(EcgXmlSafety, SmallAecgWithOnlyIAndIIGetsTheLimbLeadsDerived) {
    std::string doc =
        aecg_with(aecg_lead("MDC_ECG_LEAD_I", "1 2 3") + aecg_lead("MDC_ECG_LEAD_II", "3 2 -1") +
                  aecg_lead("MDC_ECG_LEAD_V1", "0 0 0"));
    ParseResult r = read_aecg(as_bytes(doc));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    EXPECT_EQ(w.leads.size(), 7u);
    ASSERT_NE(w.lead("III"), nullptr);
    EXPECT_EQ(w.lead("I")->microvolts, (std::vector<float>{1000, 2000, 3000}));  // mV scale
    EXPECT_EQ(w.lead("III")->microvolts, (std::vector<float>{2000, 0, -4000}));
    EXPECT_EQ(w.lead("aVF")->microvolts, (std::vector<float>{2500, 1000, -2500}));
    EXPECT_EQ(w.acquisition_time, "2024-01-02T03:04:05");
}

TEST(EcgXmlSafety, ExternalEntityIsRefusedAndNeverRead) {
    std::string xxe = aecg_with(aecg_lead("MDC_ECG_LEAD_&xxe;", "1 2 3"),
                                "<!DOCTYPE AnnotatedECG [<!ENTITY xxe SYSTEM "
                                "\"file:///etc/passwd\">]>\n");
    ParseError e = refusal(read_aecg, xxe);
    EXPECT_EQ(e.kind, ErrorKind::malformed);
    EXPECT_TRUE(mentions(e, "declares entity 'xxe'")) << e.reason;
    EXPECT_TRUE(mentions(e, "XML line 2")) << e.reason;
    EXPECT_FALSE(mentions(e, "root:")) << e.reason;  // nothing of /etc/passwd leaks

    // An external parameter entity over the network, and an internal one, likewise.
    std::string remote = aecg_with(aecg_lead("MDC_ECG_LEAD_I", "1"),
                                   "<!DOCTYPE AnnotatedECG [<!ENTITY % p SYSTEM "
                                   "\"http://127.0.0.1:9/evil.dtd\"> %p;]>\n");
    EXPECT_TRUE(mentions(refusal(read_aecg, remote), "declares entity 'p'"));
    std::string internal = aecg_with(aecg_lead("MDC_ECG_LEAD_&x;", "1"),
                                     "<!DOCTYPE AnnotatedECG [<!ENTITY x \"I\">]>\n");
    EXPECT_TRUE(mentions(refusal(read_aecg, internal), "declares entity 'x'"));
}

TEST(EcgXmlSafety, BillionLaughsIsRefusedAtTheFirstDeclaration) {
    std::string doctype = "<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n";
    for (int i = 1; i <= 9; ++i)
        doctype += "<!ENTITY lol" + std::to_string(i) + " \"" + [&] {
            std::string refs;
            for (int k = 0; k < 10; ++k)
                refs += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
            return refs;
        }() + "\">\n";
    doctype += "]>\n";
    std::string bomb = aecg_with(aecg_lead("MDC_ECG_LEAD_&lol9;", "1"), doctype);
    ParseError e = refusal(read_aecg, bomb);
    EXPECT_TRUE(mentions(e, "declares entity 'lol'")) << e.reason;
}

TEST(EcgXmlSafety, ExternalDtdWithoutEntitiesIsNotLoadedButAccepted) {
    // GE MUSE files name restecg.dtd; it must never be fetched, and the file still reads.
    std::string doc = aecg_with(aecg_lead("MDC_ECG_LEAD_II", "1 2"),
                                "<!DOCTYPE AnnotatedECG SYSTEM \"http://127.0.0.1:9/x.dtd\">\n");
    ParseResult r = read_aecg(as_bytes(doc));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    EXPECT_EQ(r.waveform->leads.size(), 1u);
}

TEST(EcgXmlSafety, TruncatedAndDeepDocumentsAreRefusedWithTheLine) {
    std::string example = slurp("aecg/Example_aECG.xml");
    ParseError cut = refusal(read_aecg, example.substr(0, example.size() / 2));
    EXPECT_TRUE(mentions(cut, "XML line ")) << cut.reason;

    std::string philips = slurp("other/sierra_3191723_ZZDEMOPTONLY_1-04_orig.xml");
    ParseError cut16 = refusal(read_sierra, philips.substr(0, philips.size() / 2));
    EXPECT_TRUE(mentions(cut16, "XML line ")) << cut16.reason;

    std::string deep = "<AnnotatedECG>";
    for (int i = 0; i < 100000; ++i) deep += "<a>";
    ParseError nested = refusal(read_aecg, deep);
    EXPECT_TRUE(mentions(nested, "depth")) << nested.reason;

    EXPECT_TRUE(mentions(refusal(read_aecg, ""), "empty"));
    EXPECT_TRUE(mentions(refusal(read_muse, std::string("\x00\x01\x02\xff", 4)), "XML line"));
}

TEST(EcgXmlSafety, Latin1AndUtf16AreDecodedToUtf8) {
    std::string muse = slurp("other/muse_example1.xml");
    ASSERT_NE(muse.find("encoding=\"ISO-8859-1\""), std::string::npos);
    muse = replace_once(muse, "<RestingECGMeasurements>",
                        "<PatientDemographics><PatientID>42</PatientID><PatientLastName>M\xFCller"
                        "</PatientLastName><PatientFirstName>J\xF6rg</PatientFirstName>"
                        "</PatientDemographics><TestDemographics><AcquisitionDevice>MAC55"
                        "</AcquisitionDevice><AcquisitionTime>15:21:27</AcquisitionTime>"
                        "<AcquisitionDate>11-12-2018</AcquisitionDate></TestDemographics>"
                        "<RestingECGMeasurements>");
    ParseResult r = read_muse(as_bytes(muse));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    EXPECT_EQ(r.waveform->patient_name, "M\xC3\xBCller^J\xC3\xB6rg");
    EXPECT_EQ(r.waveform->patient_id, "42");
    EXPECT_EQ(r.waveform->acquisition_time, "2018-11-12T15:21:27");  // MUSE dates are MM-DD-YYYY
    EXPECT_EQ(r.waveform->device_model, "MAC55");
}

TEST(EcgXmlSafety, AecgWithBadDigitsOrNoTimeAxisIsRefused) {
    ParseError digits = refusal(read_aecg, aecg_with(aecg_lead("MDC_ECG_LEAD_I", "1 2 x3 4")));
    EXPECT_TRUE(mentions(digits, "lead I: digit 3 is not an integer")) << digits.reason;
    EXPECT_TRUE(mentions(digits, "XML line")) << digits.reason;
    ParseError unit = refusal(
        read_aecg, aecg_with(aecg_lead("MDC_ECG_LEAD_I", "1", R"(<scale value="1" unit="s"/>)")));
    EXPECT_TRUE(mentions(unit, "voltage unit")) << unit.reason;
    std::string no_time = replace_once(aecg_with(aecg_lead("MDC_ECG_LEAD_I", "1")), "TIME_ABSOLUTE",
                                       "SOMETHING_ELSE");
    EXPECT_TRUE(mentions(refusal(read_aecg, no_time), "no time sequence"));
    std::string zero_step = replace_once(aecg_with(aecg_lead("MDC_ECG_LEAD_I", "1")),
                                         "<increment value=\"0.002\"", "<increment value=\"0\"");
    EXPECT_TRUE(mentions(refusal(read_aecg, zero_step), "not a plausible sample interval"));
    EXPECT_TRUE(mentions(refusal(read_aecg, slurp("other/muse_example1.xml")), "not AnnotatedECG"));
}

// --- Waveform payloads that lie -----------------------------------------------------------------

TEST(EcgXmlPayload, XliChunkDeclaringMoreBytesThanPresentIsRefused) {
    std::string philips = slurp("other/sierra_129DYPRG.XML");
    // The first chunk header is base64 "7gUAAAEA": size bytes EE 05 00 00. "/wEA" makes the size
    // 0xFF0005EE, far beyond the data.
    std::string lying = replace_once(philips, ">7gUAAAEA", ">7gUA/wEA");
    ParseError e = refusal(read_sierra, lying);
    EXPECT_EQ(e.kind, ErrorKind::malformed);
    EXPECT_TRUE(mentions(e, "XLI chunk 1 at byte 0: declares 4278191598 compressed bytes"))
        << e.reason;

    // Cut the stream short (whole base64 groups, so the base64 itself stays valid).
    auto start = philips.find('>', philips.find("<parsedwaveforms")) + 1;
    auto end = philips.find("</parsedwaveforms>");
    std::string payload = philips.substr(start, end - start);
    payload.erase(std::remove_if(payload.begin(), payload.end(), ::isspace), payload.end());
    std::string cut =
        philips.substr(0, start) + payload.substr(0, payload.size() / 8 * 4) + philips.substr(end);
    ParseError short_stream = refusal(read_sierra, cut);
    EXPECT_TRUE(mentions(short_stream, "XLI chunk")) << short_stream.reason;
}

TEST(EcgXmlPayload, XliStreamWithFewerChunksThanLeadsIsRefused) {
    std::string philips = slurp("other/sierra_129DYPRG.XML");
    auto start = philips.find('>', philips.find("<parsedwaveforms")) + 1;
    auto end = philips.find("</parsedwaveforms>");
    auto data = decode_base64(philips.substr(start, end - start), nullptr);
    ASSERT_TRUE(data.has_value());
    // Keep the first three chunks, walking their little-endian size headers.
    std::size_t keep = 0;
    for (int chunk = 0; chunk < 3; ++chunk) {
        ASSERT_LE(keep + 8, data->size());
        std::uint32_t size = 0;
        for (int b = 3; b >= 0; --b)
            size = size << 8 | std::to_integer<std::uint32_t>((*data)[keep + b]);
        keep += 8 + size;
    }
    ASSERT_LE(keep, data->size());
    std::vector<unsigned char> three(keep);
    std::memcpy(three.data(), data->data(), keep);
    ParseError e =
        refusal(read_sierra, philips.substr(0, start) + to_base64(three) + philips.substr(end));
    EXPECT_TRUE(mentions(e, "XLI data holds 3 leads, the document declares 12")) << e.reason;
}

TEST(EcgXmlPayload, XliCodeNamingNoEntryIsRefused) {
    std::string philips = slurp("other/sierra_129DYPRG.XML");
    auto start = philips.find('>', philips.find("<parsedwaveforms")) + 1;
    auto end = philips.find("</parsedwaveforms>");
    // One chunk: size 2, seed 0, then the 10-bit code 1022 (table holds 0..255): 11111111 10......
    std::string forged = to_base64({2, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x80});
    ParseError e = refusal(read_sierra, philips.substr(0, start) + forged + philips.substr(end));
    EXPECT_TRUE(mentions(e, "LZW code 1022 names no dictionary entry")) << e.reason;
}

TEST(EcgXmlPayload, HugeDeclaredSampleCountsAreRefusedBeforeAllocating) {
    std::string muse = slurp("other/muse_example1.xml");
    auto rhythm = muse.find("<WaveformType>Rhythm");
    auto count = muse.find("<LeadSampleCountTotal>5000<", rhythm);
    std::string huge = muse;
    huge.replace(count, std::strlen("<LeadSampleCountTotal>5000<"),
                 "<LeadSampleCountTotal>1000000000<");
    ParseError e = refusal(read_muse, huge);
    EXPECT_EQ(e.kind, ErrorKind::too_large);
    EXPECT_TRUE(mentions(e, "1000000000 samples")) << e.reason;

    // A count larger than the data present is refused, not read past.
    std::string more = muse;
    more.replace(count, std::strlen("<LeadSampleCountTotal>5000<"), "<LeadSampleCountTotal>5001<");
    EXPECT_TRUE(mentions(refusal(read_muse, more), "declares 5001 samples, data holds 5000"));

    std::string philips = slurp("other/sierra_129DYPRG.XML");
    std::string long_philips =
        replace_once(philips, "durationperchannel=\"11000\"", "durationperchannel=\"2000000000\"");
    ParseError p = refusal(read_sierra, long_philips);
    EXPECT_EQ(p.kind, ErrorKind::too_large);
}

TEST(EcgXmlPayload, BadBase64AndCorruptedLeadDataAreRefused) {
    std::string muse = slurp("other/muse_example1.xml");
    auto rhythm = muse.find("<WaveformType>Rhythm");
    auto data = muse.find("<WaveFormData>", rhythm) + std::strlen("<WaveFormData>") + 12;
    std::string bad = muse;
    bad[data] = '!';
    ParseError e = refusal(read_muse, bad);
    EXPECT_TRUE(mentions(e, "WaveFormData is not valid base64")) << e.reason;

    // A valid base64 character changed: the lead's CRC-32 catches it.
    std::string flipped = muse;
    flipped[data] = flipped[data] == 'A' ? 'B' : 'A';
    EXPECT_TRUE(mentions(refusal(read_muse, flipped), "LeadDataCRC32 does not match"));

    std::string philips = slurp("other/sierra_129DYPRG.XML");
    std::string bad_philips = replace_once(philips, ">7gUAAAEA", ">7gUA*AEA");
    EXPECT_TRUE(mentions(refusal(read_sierra, bad_philips), "not valid base64"));
}

TEST(EcgXmlPayload, Base64DecoderIsStrict) {
    std::size_t bad = 0;
    auto man = decode_base64(" TW\nFu ", &bad);
    ASSERT_TRUE(man.has_value());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(man->data()), man->size()), "Man");
    auto ma = decode_base64("TWE=", &bad);
    ASSERT_TRUE(ma.has_value());
    EXPECT_EQ(ma->size(), 2u);
    EXPECT_FALSE(decode_base64("TW=E", &bad).has_value());
    EXPECT_EQ(bad, 3u);
    EXPECT_FALSE(decode_base64("T", &bad).has_value());
    EXPECT_FALSE(decode_base64("TWE", &bad).has_value() == false);  // unpadded tail is allowed
    EXPECT_FALSE(decode_base64("TQ=", &bad).has_value());
}

TEST(EcgXmlPayload, UncompressedPhilipsVariantsReadTheSameSamples) {
    // The XLI file's decoded leads written back the two uncompressed ways Philips tools write
    // them (Base64 16-bit little-endian, and Plain integers), leads one after the other.
    std::string philips = slurp("other/sierra_129DYPRG.XML");
    ParseResult xli = read_sierra(as_bytes(philips));
    ASSERT_TRUE(xli.ok()) << xli.error.reason;
    std::vector<unsigned char> raw;
    std::string plain;
    for (const auto& lead : xli.waveform->leads)
        for (float uv : lead.microvolts) {
            auto v = static_cast<std::int16_t>(std::lround(uv / 5));  // signalresolution 5
            raw.push_back(static_cast<unsigned char>(v & 0xFF));
            raw.push_back(static_cast<unsigned char>((v >> 8) & 0xFF));
            plain += std::to_string(v) + (plain.size() % 97 == 0 ? "\n" : " ");
        }
    auto start = philips.find('>', philips.find("<parsedwaveforms")) + 1;
    auto end = philips.find("</parsedwaveforms>");
    auto with = [&](const std::string& payload, const std::string& encoding) {
        std::string doc = philips.substr(0, start) + payload + philips.substr(end);
        doc = replace_once(doc, "compressflag=\"True\"", "compressflag=\"False\"");
        return replace_once(doc, "dataencoding=\"Base64\"", "dataencoding=\"" + encoding + "\"");
    };
    for (const auto& [doc, what] : {std::pair{with(to_base64(raw), "Base64"), "Base64"},
                                    std::pair{with(plain, "Plain"), "Plain"}}) {
        ParseResult r = read_sierra(as_bytes(doc));
        ASSERT_TRUE(r.ok()) << what << ": " << r.error.reason;
        ASSERT_EQ(r.waveform->leads.size(), 12u) << what;
        for (const auto& lead : xli.waveform->leads)
            EXPECT_EQ(max_difference(*r.waveform, *xli.waveform, lead.name), 0.0)
                << what << " " << lead.name;
    }
    // A Plain payload one sample short is refused, not padded.
    std::string short_plain = plain.substr(0, plain.find_last_of(" \n", plain.size() - 2));
    ParseError e = refusal(read_sierra, with(short_plain, "Plain"));
    EXPECT_TRUE(mentions(e, "ends in lead 12 after 5499 of 5500 samples")) << e.reason;
}

TEST(EcgXmlPayload, CorruptedXliBytesNeverCrashOrReadOutside) {
    // Deterministic corruption of the compressed stream (run under ASan/UBSan in CI): every
    // variant either reads or is refused with a reason; none crashes or over-reads.
    std::string philips = slurp("other/sierra_129DYPRG.XML");
    auto start = philips.find('>', philips.find("<parsedwaveforms")) + 1;
    auto end = philips.find("</parsedwaveforms>");
    auto data = decode_base64(philips.substr(start, end - start), nullptr);
    ASSERT_TRUE(data.has_value());
    std::vector<unsigned char> original(data->size());
    std::memcpy(original.data(), data->data(), data->size());
    std::uint32_t state = 12345;
    auto next = [&] { return state = state * 1664525u + 1013904223u; };
    int refused = 0;
    for (int round = 0; round < 60; ++round) {
        std::vector<unsigned char> bytes = original;
        for (int flips = 1 + next() % 6; flips > 0; --flips)
            bytes[next() % bytes.size()] = static_cast<unsigned char>(next() >> 24);
        if (round % 5 == 0) bytes.resize(next() % bytes.size());
        ParseResult r = read_sierra(
            as_bytes(philips.substr(0, start) + to_base64(bytes) + philips.substr(end)));
        if (!r.ok()) {
            ++refused;
            EXPECT_TRUE(mentions(r.error, "Philips XML: ")) << r.error.reason;
        } else {
            EXPECT_EQ(r.waveform->leads.size(), 12u);
        }
    }
    EXPECT_GT(refused, 0);
}

TEST(EcgXmlSniff, CommentsAndDoctypeSubsetsDoNotHideTheRoot) {
    std::string commented =
        "<?xml version=\"1.0\"?>\n<!-- written by <b>cart</b> <RestingECG> -->\n" +
        aecg_with(aecg_lead("MDC_ECG_LEAD_II", "1 2")).substr(22);
    EXPECT_EQ(sniff(as_bytes(commented)), Format::hl7_aecg);
    ParseResult r = read_ecg(as_bytes(commented));
    ASSERT_TRUE(r.ok()) << r.error.reason;

    // An XXE document still reaches the aECG reader, whose refusal names the entity.
    std::string xxe =
        aecg_with(aecg_lead("MDC_ECG_LEAD_II", "1"),
                  "<!DOCTYPE AnnotatedECG [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">"
                  "<!-- <restingecgdata> -->]>\n");
    EXPECT_EQ(sniff(as_bytes(xxe)), Format::hl7_aecg);
    ParseResult refused = read_ecg(as_bytes(xxe));
    ASSERT_FALSE(refused.ok());
    EXPECT_TRUE(mentions(refused.error, "declares entity 'xxe'")) << refused.error.reason;
}

TEST(EcgXmlPayload, XliExpansionBeyondTheDeclaredDurationIsRefused) {
    // Codes 0, 256, 257 ... each name the string being defined, so each emits one byte more
    // than the last: 40 codes of 10 bits expand to 820 bytes. 100 ms at 500 Hz is 50 samples.
    std::vector<unsigned char> codes;
    std::uint32_t bits = 0;
    int have = 0;
    for (int k = 0; k < 40; ++k) {
        bits = bits << 10 | static_cast<std::uint32_t>(k == 0 ? 0 : 255 + k);
        for (have += 10; have >= 8; have -= 8) codes.push_back((bits >> (have - 8)) & 0xFF);
    }
    if (have > 0) codes.push_back((bits << (8 - have)) & 0xFF);
    std::vector<unsigned char> chunk = {
        static_cast<unsigned char>(codes.size()), 0, 0, 0, 0, 0, 0, 0};
    chunk.insert(chunk.end(), codes.begin(), codes.end());

    std::string philips =
        replace_once(slurp("other/sierra_129DYPRG.XML"), "durationperchannel=\"11000\"",
                     "durationperchannel=\"100\"");
    auto start = philips.find('>', philips.find("<parsedwaveforms")) + 1;
    auto end = philips.find("</parsedwaveforms>");
    ParseError e =
        refusal(read_sierra, philips.substr(0, start) + to_base64(chunk) + philips.substr(end));
    EXPECT_TRUE(mentions(e, "XLI chunk 1 at byte 0: expands beyond")) << e.reason;
}
