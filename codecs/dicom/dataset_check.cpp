#include "codecs/dicom/dataset_check.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dctag.h>
#include <dcmtk/dcmdata/dcuid.h>

#include "codecs/dicom/deferring_stream.hpp"
#include "codecs/dicom/text_decoder.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countylink::codecs::dicom {

namespace {

// Values longer than this stay in the file: DCMTK records where they are instead of reading.
constexpr Uint32 kMaxReadLength = 4096;
// Only values this short are ever pulled into memory as text.
constexpr Uint32 kMaxTextLength = 1024;
// How many offending tags a reason names before it just counts.
constexpr std::size_t kMaxListedTags = 3;
// UID values quoted in reasons are cut to this.
constexpr std::size_t kMaxQuotedChars = 64;

// --- small string tools --------------------------------------------------------------------------

std::string trim(std::string_view s) {
    const auto is_pad = [](char c) {
        return c == ' ' || c == '\0' || c == '\t' || c == '\r' || c == '\n';
    };
    while (!s.empty() && is_pad(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_pad(s.back())) s.remove_suffix(1);
    return std::string(s);
}

// Printable, bounded copy of a value for a reason (UIDs only, never patient data).
std::string printable(std::string_view s) {
    std::string out = "\"";
    for (const char c : s.substr(0, kMaxQuotedChars)) {
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    if (s.size() > kMaxQuotedChars) out += "...";
    return out + "\"";
}

template <typename Fn>
void for_each_value(std::string_view multi, Fn&& fn) {
    while (true) {
        const auto sep = multi.find('\\');
        fn(trim(multi.substr(0, sep)));
        if (sep == std::string_view::npos) return;
        multi.remove_prefix(sep + 1);
    }
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_valid_da(std::string_view v) {
    return v.empty() || (v.size() == 8 && std::all_of(v.begin(), v.end(), is_digit));
}

bool is_valid_cs(std::string_view v) {
    return std::all_of(v.begin(), v.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || is_digit(c) || c == ' ' || c == '_';
    });
}

std::string tag_label(const DcmElement& elem) {
    DcmTag tag = elem.getTag();
    return std::string(tag.getTagName()) + " " + tag.toString().c_str();
}

// `prefix` then `parts` (appending, not "literal" + string: GCC 12 -O3 warns on that).
std::string join(std::string_view prefix, const std::vector<std::string>& parts,
                 std::string_view separator) {
    std::string out(prefix);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out += separator;
        out += parts[i];
    }
    return out;
}

// "3 invalid text values: StudyDate (0008,0020), ..."
std::string summarize(std::size_t count, std::string_view what,
                      const std::vector<std::string>& labels) {
    std::string reason = join(std::to_string(count) + " " + std::string(what) + ": ", labels, ", ");
    if (count > labels.size()) reason += ", ...";
    return reason;
}

// --- reading values ------------------------------------------------------------------------------

struct TextValue {
    bool present = false;
    bool too_long = false;  // present but not read: longer than kMaxTextLength
    std::string text;       // trimmed whole value, backslashes included
};

TextValue read_text(DcmElement& elem) {
    TextValue out;
    out.present = true;
    if (elem.getLengthField() > kMaxTextLength) {
        out.too_long = true;
        return out;
    }
    OFString value;
    if (elem.getOFStringArray(value).good()) out.text = trim(value.c_str());
    return out;
}

TextValue read_text(DcmItem& item, const DcmTagKey& key) {
    DcmElement* elem = nullptr;
    if (item.findAndGetElement(key, elem, OFFalse).bad() || elem == nullptr) return {};
    return read_text(*elem);
}

std::optional<std::uint64_t> read_number(DcmItem& item, const DcmTagKey& key) {
    DcmElement* elem = nullptr;
    if (item.findAndGetElement(key, elem, OFFalse).bad() || elem == nullptr) return std::nullopt;
    if (elem->getLengthField() == 0 || elem->getLengthField() > kMaxTextLength) return std::nullopt;
    if (elem->ident() == EVR_US) {
        Uint16 v = 0;
        if (elem->getUint16(v).good()) return v;
        return std::nullopt;
    }
    Sint32 v = 0;  // IS, e.g. NumberOfFrames
    if (elem->getSint32(v).good() && v >= 0) return static_cast<std::uint64_t>(v);
    return std::nullopt;
}

// Saturates instead of wrapping: a saturated size is simply "more than any element holds".
std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) {
    constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
    if (a != 0 && b > kMax / a) return kMax;
    return a * b;
}

// --- the checks ----------------------------------------------------------------------------------

struct IdentityUid {
    DcmTagKey key;
    const char* name;
    std::string Identifiers::*field;
};

const std::array<IdentityUid, 4>& identity_uids() {
    static const std::array<IdentityUid, 4> uids{{
        {DCM_SOPClassUID, "SOP Class UID", &Identifiers::sop_class_uid},
        {DCM_SOPInstanceUID, "SOP Instance UID", &Identifiers::sop_instance_uid},
        {DCM_StudyInstanceUID, "Study Instance UID", &Identifiers::study_instance_uid},
        {DCM_SeriesInstanceUID, "Series Instance UID", &Identifiers::series_instance_uid},
    }};
    return uids;
}

bool is_identity_uid(const DcmTagKey& key) {
    const auto& uids = identity_uids();
    return std::any_of(uids.begin(), uids.end(), [&](const auto& u) { return u.key == key; });
}

// The text identifiers the index keeps, and whether they are person names.
struct IndexedText {
    DcmTagKey key;
    const char* label;  // for findings, without a dictionary look-up
    std::string Identifiers::*field;
    bool person_name;
};

const std::array<IndexedText, 16>& indexed_texts() {
    static const std::array<IndexedText, 16> texts{{
        {DCM_PatientID, "PatientID (0010,0020)", &Identifiers::patient_id, false},
        {DCM_PatientName, "PatientName (0010,0010)", &Identifiers::patient_name, true},
        {DCM_Modality, "Modality (0008,0060)", &Identifiers::modality, false},
        {DCM_StudyDate, "StudyDate (0008,0020)", &Identifiers::study_date, false},
        {DCM_AccessionNumber, "AccessionNumber (0008,0050)", &Identifiers::accession_number, false},
        {DCM_StudyTime, "StudyTime (0008,0030)", &Identifiers::study_time, false},
        {DCM_StudyDescription, "StudyDescription (0008,1030)", &Identifiers::study_description,
         false},
        {DCM_BodyPartExamined, "BodyPartExamined (0018,0015)", &Identifiers::body_part, false},
        {DCM_StudyID, "StudyID (0020,0010)", &Identifiers::study_id, false},
        {DCM_PatientBirthDate, "PatientBirthDate (0010,0030)", &Identifiers::patient_birth_date,
         false},
        {DCM_PatientSex, "PatientSex (0010,0040)", &Identifiers::patient_sex, false},
        {DCM_SeriesNumber, "SeriesNumber (0020,0011)", &Identifiers::series_number, false},
        {DCM_SeriesDescription, "SeriesDescription (0008,103E)", &Identifiers::series_description,
         false},
        {DCM_InstanceNumber, "InstanceNumber (0020,0013)", &Identifiers::instance_number, false},
        {DCM_RequestedProcedurePriority, "RequestedProcedurePriority (0040,1003)",
         &Identifiers::requested_procedure_priority, false},
        {DCM_RETIRED_StudyPriorityID, "StudyPriorityID (0032,000C)",
         &Identifiers::study_priority_id, false},
    }};
    return texts;
}

// UIDs are copied as sent (malformed_uid judges them); every other identifier goes to the
// index, the worklist and JSON, so it is read as UTF-8 (text_decoder.hpp).
void read_identifiers(DcmFileFormat& file, Identifiers& ids, std::vector<Finding>& findings) {
    if (DcmMetaInfo* meta = file.getMetaInfo()) {
        ids.transfer_syntax_uid = read_text(*meta, DCM_TransferSyntaxUID).text;
    }
    DcmDataset& ds = *file.getDataset();
    for (const auto& uid : identity_uids()) ids.*uid.field = read_text(ds, uid.key).text;
    TextDecoder decoder(read_text(ds, DCM_SpecificCharacterSet).text);
    for (const auto& t : indexed_texts()) {
        ids.*t.field = decoder.to_utf8(read_text(ds, t.key).text, t.label, t.person_name);
    }
    decoder.add_findings(findings);
}

void check_uids(DcmDataset& ds, std::vector<Finding>& findings) {
    std::vector<std::string> missing, missing_study;
    std::vector<std::string> malformed;
    for (const auto& uid : identity_uids()) {
        const TextValue v = read_text(ds, uid.key);
        if (!v.present || (!v.too_long && v.text.empty())) {
            // Without SOP Class/Instance nothing can be indexed; without Study/Series the
            // object is still retrievable, and storescp takes such files: warn, don't refuse.
            const bool study_level =
                uid.key == DCM_StudyInstanceUID || uid.key == DCM_SeriesInstanceUID;
            (study_level ? missing_study : missing).emplace_back(uid.name);
        } else if (v.too_long || !is_valid_uid(v.text)) {
            // Quote only the first bad value: the reason must stay short.
            std::string entry = uid.name;
            if (malformed.empty()) {
                entry += ' ';
                entry += v.too_long ? std::string("(over 1 KiB)") : printable(v.text);
            }
            malformed.push_back(std::move(entry));
        }
    }
    if (!missing.empty()) findings.push_back({"missing_uid", join("missing ", missing, ", ")});
    if (!missing_study.empty()) {
        findings.push_back({"missing_study_uid", join("missing ", missing_study, ", ")});
    }
    if (!malformed.empty()) {
        findings.push_back({"malformed_uid", join("malformed ", malformed, ", ")});
    }
}

void check_expected(const Identifiers& ids, const Expected& expected,
                    std::vector<Finding>& findings) {
    std::vector<std::string> diffs;
    const auto compare = [&](const char* name, const std::string& actual, const std::string& want) {
        const std::string w = trim(want);
        if (w.empty() || actual.empty() || actual == w) return;
        diffs.push_back(std::string(name) + " " + printable(actual) + " (request " + printable(w) +
                        ")");
    };
    compare("SOP Class UID", ids.sop_class_uid, expected.sop_class_uid);
    compare("SOP Instance UID", ids.sop_instance_uid, expected.sop_instance_uid);
    if (!diffs.empty()) {
        findings.push_back({"uid_mismatch", join("dataset differs from request: ", diffs, "; ")});
    }
}

// Bytes native pixel data must hold; nullopt when the image attributes needed are absent.
std::optional<std::uint64_t> expected_pixel_bytes(DcmDataset& ds) {
    const auto rows = read_number(ds, DCM_Rows);
    const auto cols = read_number(ds, DCM_Columns);
    const auto bits = read_number(ds, DCM_BitsAllocated);
    if (!rows || !cols || !bits) return std::nullopt;
    std::uint64_t samples = read_number(ds, DCM_SamplesPerPixel).value_or(1);
    std::uint64_t frames = read_number(ds, DCM_NumberOfFrames).value_or(1);
    if (frames == 0) frames = 1;
    // 4:2:2 keeps two samples per pixel: one luminance each, chrominance shared by pairs.
    const std::string photometric = read_text(ds, DCM_PhotometricInterpretation).text;
    if (samples == 3 && (photometric == "YBR_FULL_422" || photometric == "YBR_PARTIAL_422")) {
        samples = 2;
    }
    const std::uint64_t total_bits =
        mul_sat(mul_sat(mul_sat(mul_sat(*rows, *cols), samples), frames), *bits);
    // Round up so Bits Allocated 1 (and any packed depth) counts whole bytes.
    return total_bits / 8 + (total_bits % 8 != 0 ? 1 : 0);
}

void check_pixel_data(DcmDataset& ds, std::vector<Finding>& findings) {
    static const std::array<std::pair<DcmTagKey, const char*>, 3> kPixelTags{{
        {DCM_PixelData, "Pixel Data"},
        {DCM_FloatPixelData, "Float Pixel Data"},
        {DCM_DoubleFloatPixelData, "Double Float Pixel Data"},
    }};
    std::optional<std::optional<std::uint64_t>> want_bytes;  // computed on first native element
    for (const auto& [key, name] : kPixelTags) {
        DcmElement* elem = nullptr;
        if (ds.findAndGetElement(key, elem, OFFalse).bad() || elem == nullptr) continue;
        const Uint32 length = elem->getLengthField();
        if (length == DCM_UndefinedLength) continue;  // encapsulated: frame sizes vary
        if (!want_bytes) want_bytes = expected_pixel_bytes(ds);
        if (!*want_bytes) continue;
        const std::uint64_t want = **want_bytes;
        const std::string sizes =
            std::to_string(length) + " bytes, expected " + std::to_string(want);
        if (length < want) {
            findings.push_back({"pixel_data_short", std::string(name) + " too short: " + sizes});
        } else if (length > want + want % 2) {  // one byte pads an odd length to even
            findings.push_back({"pixel_data_padded", std::string(name) + " too long: " + sizes});
        }
    }
}

// Native 16-bit samples in a little-endian, uncompressed dataset: pixels, else the largest
// multiplex group of waveform data.
std::optional<SampleHint> sample_hint(DcmDataset& ds, const std::string& transfer_syntax) {
    if (transfer_syntax != UID_LittleEndianExplicitTransferSyntax &&
        transfer_syntax != UID_LittleEndianImplicitTransferSyntax) {
        return std::nullopt;
    }
    DcmElement* elem = nullptr;
    if (ds.findAndGetElement(DCM_PixelData, elem, OFFalse).good() && elem != nullptr) {
        const Uint32 length = elem->getLengthField();
        if (length == DCM_UndefinedLength || read_number(ds, DCM_BitsAllocated) != 16u) {
            return std::nullopt;
        }
        return SampleHint{0x7FE0, 0x0010, length, 0};
    }
    std::optional<SampleHint> best;
    DcmSequenceOfItems* groups = nullptr;
    if (ds.findAndGetSequence(DCM_WaveformSequence, groups, OFFalse).bad() || !groups) {
        return std::nullopt;
    }
    for (unsigned long i = 0; i < groups->card(); ++i) {
        DcmItem* group = groups->getItem(i);
        DcmElement* data = nullptr;
        if (group->findAndGetElement(DCM_WaveformData, data, OFFalse).bad() || !data) continue;
        const auto channels = read_number(*group, DCM_NumberOfWaveformChannels);
        const Uint32 length = data->getLengthField();
        if (read_number(*group, DCM_WaveformBitsAllocated) != 16u || !channels || *channels == 0 ||
            *channels > 0xFFFF || length == DCM_UndefinedLength) {
            continue;
        }
        if (!best || length > best->length) {
            best = SampleHint{0x5400, 0x1010, length, static_cast<uint16_t>(*channels)};
        }
    }
    return best;
}

// DCMTK takes the end of the file for the end of the dataset when the file ends right after a
// sequence or item header, and only warns when it ends inside an undefined-length sequence, so
// a file cut there would pass. Only the end of the last element can be cut: walk the chain of
// last elements and last items. Returns true for a container declared non-empty but read empty.
// Collects, outermost first, the delimitation items the file must end with: one per
// undefined-length container on the chain (true: sequence, false: item).
bool cut_on_last_chain(DcmItem& item, std::vector<bool>& delimiters) {
    const unsigned long count = item.card();
    if (count == 0) return false;
    DcmElement* last = item.getElement(count - 1);
    if (last == nullptr) return false;
    const auto declared_but_empty = [](Uint32 length) {
        return length != 0 && length != DCM_UndefinedLength;
    };
    if (last->getLengthField() == DCM_UndefinedLength) delimiters.push_back(true);
    if (last->ident() != EVR_SQ) return false;  // includes encapsulated Pixel Data
    auto& seq = static_cast<DcmSequenceOfItems&>(*last);
    if (seq.card() == 0) return declared_but_empty(seq.getLengthField());
    DcmItem* tail = seq.getItem(seq.card() - 1);
    if (tail == nullptr) return false;
    if (tail->getLengthField() == DCM_UndefinedLength) delimiters.push_back(false);
    if (tail->card() == 0) return declared_but_empty(tail->getLengthField());
    return cut_on_last_chain(*tail, delimiters);
}

// True if the file ends with `delimiters` (outermost last), each (FFFE,E0DD) for a sequence or
// (FFFE,E00D) for an item with length 0, in either byte order (big endian: retired Explicit BE).
bool ends_with_delimiters(const std::filesystem::path& path, const std::vector<bool>& delimiters) {
    if (delimiters.empty()) return true;
    std::vector<unsigned char> tail(8 * delimiters.size());
    std::ifstream in(path, std::ios::binary);
    in.seekg(-static_cast<std::streamoff>(tail.size()), std::ios::end);
    in.read(reinterpret_cast<char*>(tail.data()), static_cast<std::streamsize>(tail.size()));
    if (!in) return false;
    for (std::size_t i = 0; i < delimiters.size(); ++i) {
        const unsigned char* d = tail.data() + tail.size() - 8 * (i + 1);
        const unsigned char element = delimiters[i] ? 0xdd : 0x0d;
        const bool little = d[0] == 0xfe && d[1] == 0xff && d[2] == element && d[3] == 0xe0;
        const bool big = d[0] == 0xff && d[1] == 0xfe && d[2] == 0xe0 && d[3] == element;
        const bool zero_length = d[4] == 0 && d[5] == 0 && d[6] == 0 && d[7] == 0;
        if (!(little || big) || !zero_length) return false;
    }
    return true;
}

struct WalkFindings {
    std::size_t bad_text_count = 0;
    std::vector<std::string> bad_text_tags;
    std::size_t un_count = 0;
    std::vector<std::string> un_tags;
};

void note(std::size_t& count, std::vector<std::string>& labels, const DcmElement& elem) {
    ++count;
    if (labels.size() >= kMaxListedTags) return;
    std::string label = tag_label(elem);
    if (std::find(labels.begin(), labels.end(), label) == labels.end()) {
        labels.push_back(std::move(label));
    }
}

bool has_bad_text(DcmElement& elem, DcmEVR vr) {
    const TextValue v = read_text(elem);
    if (v.too_long) return false;  // not read on purpose; a 1 KiB CS/DA/UI list is odd, not bad
    bool bad = false;
    for_each_value(v.text, [&](const std::string& one) {
        switch (vr) {
            case EVR_DA:
                bad = bad || !is_valid_da(one);
                break;
            case EVR_CS:
                bad = bad || !is_valid_cs(one);
                break;
            default:
                bad = bad || (!one.empty() && !is_valid_uid(one));
                break;
        }
    });
    return bad;
}

// An element sent as UN whose public tag the dictionary knows: some hop lost its real VR.
// (UN with undefined length is read as a sequence by DCMTK and can't be told apart here.)
bool is_known_sent_as_un(const DcmElement& elem) {
    if (elem.getTag().getEVR() != EVR_UN || elem.getTag().isPrivate()) return false;
    const DcmTag probe(elem.getGTag(), elem.getETag());  // looks the tag up in the dictionary
    const DcmEVR dict_vr = probe.getEVR();
    return dict_vr != EVR_UN && dict_vr != EVR_UNKNOWN && dict_vr != EVR_UNKNOWN2B;
}

void walk(DcmItem& item, bool top_level, WalkFindings& out) {
    for (unsigned long i = 0; i < item.card(); ++i) {
        DcmElement* elem = item.getElement(i);
        if (elem == nullptr) continue;
        if (is_known_sent_as_un(*elem)) note(out.un_count, out.un_tags, *elem);
        const DcmEVR vr = elem->ident();
        if (vr == EVR_SQ) {
            auto* seq = static_cast<DcmSequenceOfItems*>(elem);
            for (unsigned long j = 0; j < seq->card(); ++j) {
                if (DcmItem* child = seq->getItem(j)) walk(*child, false, out);
            }
        } else if (vr == EVR_DA || vr == EVR_CS || vr == EVR_UI) {
            // The top-level identity UIDs are judged by malformed_uid instead.
            if (vr == EVR_UI && top_level && is_identity_uid(elem->getTag().getXTag())) continue;
            if (has_bad_text(*elem, vr)) note(out.bad_text_count, out.bad_text_tags, *elem);
        }
    }
}

}  // namespace

const std::set<std::string>& known_finding_codes() {
    static const std::set<std::string> codes{
        "unparseable",
        "missing_uid",
        "malformed_uid",
        "uid_mismatch",
        "pixel_data_short",
        "missing_patient_id",
        "missing_modality",
        "pixel_data_padded",
        "bad_text_value",
        "vr_un_known",
        "missing_study_uid",
        "undeclared_character_set",
        "character_set_not_converted",
    };
    return codes;
}

const std::set<std::string>& notice_codes() {
    static const std::set<std::string> codes{"undeclared_character_set"};
    return codes;
}

const std::set<std::string>& always_fatal_codes() {
    static const std::set<std::string> codes{"unparseable", "missing_uid"};
    return codes;
}

CheckReport check_part10_file(const std::filesystem::path& path, const Expected& expected,
                              const std::set<std::string>& fatal_codes) {
    CheckReport report;
    auto& findings = report.findings;
    const auto finish = [&]() {
        const auto& always = always_fatal_codes();
        report.fatal = std::any_of(findings.begin(), findings.end(), [&](const Finding& f) {
            return fatal_codes.count(f.code) > 0 || always.count(f.code) > 0;
        });
        return std::move(report);
    };

    // Our spool always holds Part-10; anything without the DICM prefix is not DICOM at all.
    std::array<char, 132> head{};
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot open " + path.string());
        in.read(head.data(), head.size());
        if (in.gcount() != static_cast<std::streamsize>(head.size()) ||
            std::string_view(head.data() + 128, 4) != "DICM") {
            findings.push_back({"unparseable", "not a DICOM Part-10 file (no DICM prefix)"});
            return finish();
        }
    }

    DcmFileFormat file;
    DeferringFileStream stream{OFFilename(path.c_str())};
    if (stream.status().bad()) throw std::runtime_error("cannot open " + path.string());
    // Auto-detect rather than fileOnly: a transfer syntax newer than DCMTK 3.6.7 (HTJ2K,
    // Deflated Image Frame Compression) is then parsed from the bytes instead of refused.
    file.setReadMode(ERM_autoDetect);
    file.transferInit();
    const OFCondition status = file.read(stream, EXS_Unknown, EGL_noChange, kMaxReadLength);
    file.transferEnd();

    read_identifiers(file, report.ids, findings);
    if (status.bad()) {
        findings.push_back({"unparseable", std::string("cannot parse: ") + status.text()});
        return finish();
    }
    DcmDataset& ds = *file.getDataset();
    std::vector<bool> delimiters;
    const bool cut = cut_on_last_chain(ds, delimiters);
    // Behind zlib the raw tail says nothing; a cut deflate stream fails to parse anyway.
    if (cut || (!stream.compressed() && !ends_with_delimiters(path, delimiters))) {
        findings.push_back({"unparseable", "truncated: file ends inside a sequence"});
        return finish();
    }

    check_uids(ds, findings);
    check_expected(report.ids, expected, findings);
    check_pixel_data(ds, findings);
    report.samples = sample_hint(ds, report.ids.transfer_syntax_uid);
    if (report.ids.patient_id.empty()) {
        findings.push_back({"missing_patient_id", "Patient ID (0010,0020) missing or empty"});
    }
    if (report.ids.modality.empty()) {
        findings.push_back({"missing_modality", "Modality (0008,0060) missing or empty"});
    }

    WalkFindings walked;
    walk(ds, true, walked);
    if (walked.bad_text_count > 0) {
        findings.push_back(
            {"bad_text_value",
             summarize(walked.bad_text_count, "invalid text values", walked.bad_text_tags)});
    }
    if (walked.un_count > 0) {
        findings.push_back({"vr_un_known", summarize(walked.un_count, "known elements sent as UN",
                                                     walked.un_tags)});
    }
    return finish();
}

bool is_valid_uid(std::string_view uid) {
    if (uid.empty() || uid.size() > 64) return false;
    while (true) {
        const auto dot = uid.find('.');
        const std::string_view part = uid.substr(0, dot);
        if (part.empty() ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        if (part.size() > 1 && part.front() == '0') return false;
        if (dot == std::string_view::npos) return true;
        uid.remove_prefix(dot + 1);
    }
}

}  // namespace countylink::codecs::dicom
