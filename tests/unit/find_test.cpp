// C-FIND: identifiers read from bytes DCMTK wrote (as findscu does), hostile identifiers, DICOM
// matching rules, and the answers of both information models over a real SQLite index; the
// response identifiers read back with DCMTK.
#include "gateway/query/find.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcistrmb.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/dicom/dataset_bytes.hpp"
#include "codecs/dicom/query_identifier.hpp"
#include "gateway/store/sqlite/sqlite_index.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink {
namespace {

namespace cd = codecs::dicom;
using Bytes = std::vector<std::byte>;

constexpr const char* kImplicit = "1.2.840.10008.1.2";
constexpr const char* kExplicit = "1.2.840.10008.1.2.1";
constexpr std::string_view kStudyRoot = query::kStudyRootFind;
constexpr std::string_view kPatientRoot = query::kPatientRootFind;

// An identifier as an SCU builds it: tag -> value (empty: a return key).
Bytes identifier(const std::map<DcmTagKey, std::string>& keys, E_TransferSyntax syntax,
                 bool with_sequence = false) {
    DcmDataset ds;
    for (const auto& [tag, value] : keys) ds.putAndInsertString(tag, value.c_str());
    if (with_sequence) {
        DcmItem* item = nullptr;
        ds.findOrCreateSequenceItem(DCM_ReferencedStudySequence, item, -2);
        item->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.3");
    }
    Bytes out;
    cd::write_dataset(ds, syntax, out);
    return out;
}

cd::QueryIdentifier parse(const std::map<DcmTagKey, std::string>& keys) {
    auto id = cd::parse_query_identifier(identifier(keys, EXS_LittleEndianExplicit), kExplicit);
    EXPECT_EQ(id.error, "");
    return id;
}

uint32_t tag(const DcmTagKey& k) {
    return uint32_t(k.getGroup()) << 16 | k.getElement();
}

TEST(FindIdentifier, ReadsKeysInBothSyntaxesAndSkipsSequences) {
    const std::map<DcmTagKey, std::string> keys{{DCM_QueryRetrieveLevel, "STUDY"},
                                                {DCM_PatientName, "WANG*"},
                                                {DCM_StudyDate, "20260101-20261231"},
                                                {DCM_StudyInstanceUID, ""}};
    for (auto [uid, syntax] : {std::pair{kImplicit, EXS_LittleEndianImplicit},
                               std::pair{kExplicit, EXS_LittleEndianExplicit}}) {
        const auto id = cd::parse_query_identifier(identifier(keys, syntax, true), uid);
        ASSERT_EQ(id.error, "") << uid;
        ASSERT_EQ(id.keys.size(), 5u) << uid;
        EXPECT_EQ(id.keys[0].tag, tag(DCM_StudyDate));
        EXPECT_EQ(id.keys[0].vr, "DA");
        EXPECT_EQ(id.keys[0].value, "20260101-20261231");
        EXPECT_EQ(id.find(tag(DCM_QueryRetrieveLevel))->value, "STUDY");
        EXPECT_EQ(id.find(tag(DCM_PatientName))->vr, "PN");
        EXPECT_EQ(id.find(tag(DCM_PatientName))->value, "WANG*");
        const auto* sequence = id.find(tag(DCM_ReferencedStudySequence));
        ASSERT_NE(sequence, nullptr);
        EXPECT_FALSE(sequence->matchable);
        EXPECT_TRUE(id.find(tag(DCM_StudyInstanceUID))->value.empty());
    }
}

// A viewer in a Chinese hospital queries in GB18030: the key is matched as UTF-8.
TEST(FindIdentifier, ConvertsTheRequestCharacterSetToUtf8) {
    DcmDataset ds;
    ds.putAndInsertString(DCM_SpecificCharacterSet, "GB18030");
    const char gb[] = {'\xD5', '\xC5', '*', '\0'};  // 张*
    ds.putAndInsertString(DCM_PatientName, gb);
    ds.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
    Bytes bytes;
    cd::write_dataset(ds, EXS_LittleEndianExplicit, bytes);
    const auto id = cd::parse_query_identifier(bytes, kExplicit);
    ASSERT_EQ(id.error, "");
    EXPECT_EQ(id.find(tag(DCM_PatientName))->value, "\u5F20*");

    ds.putAndInsertString(DCM_SpecificCharacterSet, "NO_SUCH_SET");
    bytes.clear();
    cd::write_dataset(ds, EXS_LittleEndianExplicit, bytes);
    EXPECT_NE(cd::parse_query_identifier(bytes, kExplicit).error.find("NO_SUCH_SET"),
              std::string::npos);
}

// A Japanese viewer (PS3.5 H.3.2's ISO 2022 name, 7-bit behind escapes) is decoded as the
// index decodes stored names, so both compare in UTF-8.
TEST(FindIdentifier, DecodesIso2022LikeTheIndex) {
    DcmDataset ds;
    ds.putAndInsertString(DCM_SpecificCharacterSet, "\\ISO 2022 IR 87");
    ds.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
    ds.putAndInsertString(DCM_PatientName, "Yamada^Tarou=\x1B$B;3ED\x1B(B^\x1B$BB@O:\x1B(B");
    Bytes bytes;
    cd::write_dataset(ds, EXS_LittleEndianExplicit, bytes);
    const auto id = cd::parse_query_identifier(bytes, kExplicit);
    ASSERT_EQ(id.error, "");
    EXPECT_EQ(id.find(tag(DCM_PatientName))->value, "Yamada^Tarou=\u5C71\u7530^\u592A\u90CE");
}

TEST(FindIdentifier, RefusesHostileBytesWithAReason) {
    const Bytes good = identifier({{DCM_QueryRetrieveLevel, "STUDY"}, {DCM_PatientID, "X"}},
                                  EXS_LittleEndianExplicit);
    // Cut inside the last value.
    const Bytes cut(good.begin(), good.end() - 1);
    EXPECT_NE(cd::parse_query_identifier(cut, kExplicit).error.find("declares"), std::string::npos);
    // A declared length of 4 GB in a 20-byte identifier.
    Bytes huge = {std::byte{0x10}, std::byte{0x00}, std::byte{0x20}, std::byte{0x00},
                  std::byte{'U'},  std::byte{'T'},  std::byte{0},    std::byte{0},
                  std::byte{0xF0}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}};
    EXPECT_NE(cd::parse_query_identifier(huge, kExplicit).error, "");
    // Tags out of order.
    Bytes swapped;
    const Bytes a = identifier({{DCM_PatientID, "X"}}, EXS_LittleEndianExplicit);
    const Bytes b = identifier({{DCM_QueryRetrieveLevel, "STUDY"}}, EXS_LittleEndianExplicit);
    swapped.insert(swapped.end(), a.begin(), a.end());
    swapped.insert(swapped.end(), b.begin(), b.end());
    EXPECT_NE(cd::parse_query_identifier(swapped, kExplicit).error.find("ascending"),
              std::string::npos);
    // More keys than any query has.
    Bytes many_bytes;  // implicit VR: (0009,1000+i), length 2, "x "
    for (uint16_t e = 0x1000; e < 0x1000 + 600; ++e) {
        for (int b : {0x09, 0x00, e & 0xFF, e >> 8, 2, 0, 0, 0, int{'x'}, int{' '}}) {
            many_bytes.push_back(static_cast<std::byte>(b));
        }
    }
    EXPECT_NE(cd::parse_query_identifier(many_bytes, kImplicit).error.find("512"),
              std::string::npos);
    EXPECT_NE(cd::parse_query_identifier(good, "1.2.840.10008.1.2.2").error, "");
    // Control characters in a value (the fuzzer's first find): refused, not echoed back.
    const Bytes control =
        identifier({{DCM_QueryRetrieveLevel, std::string("ST\x02UDY")}}, EXS_LittleEndianExplicit);
    EXPECT_NE(cd::parse_query_identifier(control, kExplicit).error.find("control characters"),
              std::string::npos);
}

TEST(FindMatching, FollowsPs34Rules) {
    using query::matches;
    EXPECT_TRUE(matches("", "PN", "anything"));
    EXPECT_TRUE(matches("*", "LO", ""));
    EXPECT_TRUE(matches("wang^xiaoming", "PN", "WANG^XIAOMING"));  // PN ignores case
    EXPECT_TRUE(matches("WANG^XIAOMING", "PN", "WANG^XIAOMING^^^"));
    EXPECT_TRUE(matches("WANG*", "PN", "WANG^XIAOMING"));
    EXPECT_TRUE(matches("W?NG*MING", "PN", "WANG^XIAOMING"));
    EXPECT_FALSE(matches("LI*", "PN", "WANG^XIAOMING"));
    EXPECT_FALSE(matches("ts0001", "LO", "TS0001"));  // other VRs are case-sensitive
    EXPECT_TRUE(matches("TS*1", "LO", "TS0001"));
    EXPECT_FALSE(matches("TS000", "LO", "TS0001"));  // single value: whole value
    EXPECT_TRUE(matches("1.2.3\\1.2.4", "UI", "1.2.4"));
    EXPECT_FALSE(matches("1.2.3\\1.2.4", "UI", "1.2.5"));
    EXPECT_FALSE(matches("1.2.*", "UI", "1.2.3"));  // no wildcards in UIDs
    EXPECT_TRUE(matches("20260101-20261231", "DA", "20260611"));
    EXPECT_TRUE(matches("-20260611", "DA", "20260611"));
    EXPECT_TRUE(matches("20260611-", "DA", "20261231"));
    EXPECT_FALSE(matches("20260612-", "DA", "20260611"));
    EXPECT_FALSE(matches("20260101-20261231", "DA", ""));  // no value matches no range
    EXPECT_TRUE(matches("CT\\MR", "CS", "MR"));
    EXPECT_TRUE(matches("*a*a*a*a*b", "LO", "aaaaaaaaaaaaaaaaaaaab"));
    EXPECT_FALSE(matches("*a*a*a*a*b", "LO", "aaaaaaaaaaaaaaaaaaaaa"));
}

store::InstanceRecord record(const std::string& study, const std::string& series,
                             const std::string& sop, const std::string& modality,
                             const std::string& township) {
    store::InstanceRecord r;
    r.sop_instance_uid = sop;
    r.sop_class_uid = modality == "CT" ? "1.2.840.10008.5.1.4.1.1.2" : "1.2.840.10008.5.1.4.1.1.4";
    r.study_instance_uid = study;
    r.series_instance_uid = series;
    r.patient_id = study == "1.9.1" ? "P1" : "P2";
    r.patient_name = study == "1.9.1" ? "WANG^XIAOMING" : "\u5F20^\u4E09";
    r.modality = modality;
    r.study_date = study == "1.9.1" ? "20260611" : "20261020";
    r.accession_number = "A" + study;
    r.transfer_syntax_uid = kExplicit;
    r.township = township;
    r.calling_ae = "CT_TOWN01";
    r.sha256 = std::string(64, static_cast<char>('a' + sop.back() % 6));
    r.study_description = study == "1.9.1" ? "CHEST \u80F8\u90E8" : "HEAD";
    r.study_time = "093000";
    r.patient_sex = study == "1.9.1" ? "M" : "F";
    r.series_description = modality + " series " + series.substr(series.rfind('.') + 1);
    r.series_number = series.substr(series.rfind('.') + 1);
    r.instance_number = sop.substr(sop.rfind('.') + 1);
    return r;
}

class Find : public ::testing::Test {
  protected:
    void SetUp() override {
        // Patient P1: one study, CT and MR series (2 + 1 instances); patient P2: one MR study.
        const std::vector<store::InstanceRecord> rows{
            record("1.9.1", "1.9.1.1", "1.9.1.1.1", "CT", "Dongxiang"),
            record("1.9.1", "1.9.1.1", "1.9.1.1.2", "CT", "Dongxiang"),
            record("1.9.1", "1.9.1.2", "1.9.1.2.1", "MR", "Dongxiang"),
            record("1.9.2", "1.9.2.1", "1.9.2.1.1", "MR", "Xiying")};
        index_.record_instances(rows);
    }

    query::FindAnswer find(std::string_view model, const std::map<DcmTagKey, std::string>& keys,
                           const query::Visible& visible = everything,
                           std::size_t max = query::kMaxFindInstances) {
        return query::find(model, parse(keys), index_, visible, max);
    }

    static bool everything(const store::InstanceRecord&) { return true; }

    countylink::testing::TempDir dir_;
    store::SqliteIndex index_{dir_.path() / "index.db"};
};

std::map<uint32_t, std::string> as_map(const query::Match& m) {
    return {m.begin(), m.end()};
}

TEST_F(Find, StudyLevelCountsAndModalitiesOfEachStudy) {
    const auto answer = find(kStudyRoot, {{DCM_QueryRetrieveLevel, "STUDY"},
                                          {DCM_PatientName, ""},
                                          {DCM_ModalitiesInStudy, ""},
                                          {DCM_NumberOfStudyRelatedSeries, ""},
                                          {DCM_NumberOfStudyRelatedInstances, ""}});
    EXPECT_EQ(answer.status, 0);
    EXPECT_FALSE(answer.unsupported_keys);
    ASSERT_EQ(answer.matches.size(), 2u);
    const auto first = as_map(answer.matches[0]);
    EXPECT_EQ(first.at(tag(DCM_StudyInstanceUID)), "1.9.1") << "unique key added";
    EXPECT_EQ(first.at(tag(DCM_QueryRetrieveLevel)), "STUDY");
    EXPECT_EQ(first.at(tag(DCM_PatientName)), "WANG^XIAOMING");
    EXPECT_EQ(first.at(tag(DCM_ModalitiesInStudy)), "CT\\MR");
    EXPECT_EQ(first.at(tag(DCM_NumberOfStudyRelatedSeries)), "2");
    EXPECT_EQ(first.at(tag(DCM_NumberOfStudyRelatedInstances)), "3");
}

TEST_F(Find, KeysNarrowTheStudies) {
    const auto one = [&](std::map<DcmTagKey, std::string> keys) {
        keys[DCM_QueryRetrieveLevel] = "STUDY";
        const auto a = find(kStudyRoot, keys);
        std::vector<std::string> studies;
        for (const auto& m : a.matches) studies.push_back(as_map(m).at(tag(DCM_StudyInstanceUID)));
        return studies;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(one({{DCM_PatientName, "wang*"}}), V{"1.9.1"});
    EXPECT_EQ(one({{DCM_PatientName, "\u5F20*"}}), V{"1.9.2"});
    EXPECT_EQ(one({{DCM_PatientID, "P2"}}), V{"1.9.2"});
    EXPECT_EQ(one({{DCM_StudyDate, "20261001-"}}), V{"1.9.2"});
    EXPECT_EQ(one({{DCM_ModalitiesInStudy, "CT"}}), V{"1.9.1"});
    EXPECT_EQ(one({{DCM_ModalitiesInStudy, "MR"}}), (V{"1.9.1", "1.9.2"}));
    EXPECT_EQ(one({{DCM_StudyInstanceUID, "1.9.2\\1.9.7"}}), V{"1.9.2"});
    EXPECT_EQ(one({{DCM_AccessionNumber, "A1.9.1"}}), V{"1.9.1"});
    EXPECT_EQ(one({{DCM_AccessionNumber, "nothing"}}), V{});
}

TEST_F(Find, SeriesAndImageLevelsUnderAStudy) {
    const auto series = find(kStudyRoot, {{DCM_QueryRetrieveLevel, "SERIES"},
                                          {DCM_StudyInstanceUID, "1.9.1"},
                                          {DCM_Modality, ""},
                                          {DCM_NumberOfSeriesRelatedInstances, ""}});
    ASSERT_EQ(series.matches.size(), 2u);
    const auto ct = as_map(series.matches[0]);
    EXPECT_EQ(ct.at(tag(DCM_SeriesInstanceUID)), "1.9.1.1");
    EXPECT_EQ(ct.at(tag(DCM_Modality)), "CT");
    EXPECT_EQ(ct.at(tag(DCM_NumberOfSeriesRelatedInstances)), "2");
    EXPECT_EQ(ct.at(tag(DCM_StudyInstanceUID)), "1.9.1");

    const auto images = find(kStudyRoot, {{DCM_QueryRetrieveLevel, "IMAGE"},
                                          {DCM_StudyInstanceUID, "1.9.1"},
                                          {DCM_SeriesInstanceUID, "1.9.1.1"},
                                          {DCM_SOPClassUID, ""},
                                          {DCM_InstanceNumber, ""},
                                          {DCM_ContentDate, ""}});
    ASSERT_EQ(images.matches.size(), 2u);
    EXPECT_TRUE(images.unsupported_keys) << "ContentDate is not kept";
    const auto first = as_map(images.matches[1]);
    EXPECT_EQ(first.at(tag(DCM_SOPInstanceUID)), "1.9.1.1.2");
    EXPECT_EQ(first.at(tag(DCM_SOPClassUID)), "1.2.840.10008.5.1.4.1.1.2");
    EXPECT_EQ(first.at(tag(DCM_InstanceNumber)), "2");
    EXPECT_FALSE(first.contains(tag(DCM_ContentDate)));
}

// What a viewer's study and series lists show, and matching on it (wildcards, ranges).
TEST_F(Find, DescriptionsNumbersAndSexAreAnsweredAndMatched) {
    const auto studies = find(kStudyRoot, {{DCM_QueryRetrieveLevel, "STUDY"},
                                           {DCM_StudyDescription, "*\u80F8*"},
                                           {DCM_StudyTime, "0900-1000"},
                                           {DCM_PatientSex, ""}});
    EXPECT_FALSE(studies.unsupported_keys);
    ASSERT_EQ(studies.matches.size(), 1u);
    const auto study = as_map(studies.matches[0]);
    EXPECT_EQ(study.at(tag(DCM_StudyInstanceUID)), "1.9.1");
    EXPECT_EQ(study.at(tag(DCM_StudyDescription)), "CHEST \u80F8\u90E8");
    EXPECT_EQ(study.at(tag(DCM_StudyTime)), "093000");
    EXPECT_EQ(study.at(tag(DCM_PatientSex)), "M");

    const auto series = find(kStudyRoot, {{DCM_QueryRetrieveLevel, "SERIES"},
                                          {DCM_StudyInstanceUID, "1.9.1"},
                                          {DCM_SeriesNumber, ""},
                                          {DCM_SeriesDescription, "MR*"}});
    ASSERT_EQ(series.matches.size(), 1u);
    const auto mr = as_map(series.matches[0]);
    EXPECT_EQ(mr.at(tag(DCM_SeriesInstanceUID)), "1.9.1.2");
    EXPECT_EQ(mr.at(tag(DCM_SeriesNumber)), "2");
    EXPECT_EQ(mr.at(tag(DCM_SeriesDescription)), "MR series 2");
}

TEST_F(Find, PatientRootPatientLevel) {
    const auto answer = find(kPatientRoot, {{DCM_QueryRetrieveLevel, "PATIENT"},
                                            {DCM_PatientID, ""},
                                            {DCM_PatientName, ""},
                                            {DCM_NumberOfPatientRelatedStudies, ""},
                                            {DCM_NumberOfPatientRelatedInstances, ""},
                                            {DCM_StudyDate, ""}});
    ASSERT_EQ(answer.matches.size(), 2u);
    EXPECT_TRUE(answer.unsupported_keys) << "StudyDate is not a patient-level key";
    const auto p1 = as_map(answer.matches[0]);
    EXPECT_EQ(p1.at(tag(DCM_PatientID)), "P1");
    EXPECT_EQ(p1.at(tag(DCM_NumberOfPatientRelatedStudies)), "1");
    EXPECT_EQ(p1.at(tag(DCM_NumberOfPatientRelatedInstances)), "3");
    EXPECT_FALSE(p1.contains(tag(DCM_StudyDate)));
}

TEST_F(Find, WrongLevelsAndTooBroadQueriesAreRefused) {
    EXPECT_EQ(find(kStudyRoot, {{DCM_PatientID, ""}}).status, 0xA900);
    const auto patient = find(kStudyRoot, {{DCM_QueryRetrieveLevel, "PATIENT"}});
    EXPECT_EQ(patient.status, 0xA900);
    EXPECT_NE(patient.reason.find("STUDY, SERIES, IMAGE"), std::string::npos);
    EXPECT_EQ(find(kStudyRoot, {{DCM_QueryRetrieveLevel, "FRAME"}}).status, 0xA900);
    const auto broad = find(kStudyRoot, {{DCM_QueryRetrieveLevel, "STUDY"}}, everything, 3);
    EXPECT_EQ(broad.status, 0xA700);
    EXPECT_TRUE(broad.matches.empty());
    EXPECT_NE(broad.reason.find("narrow"), std::string::npos);
    EXPECT_EQ(find(kStudyRoot, {{DCM_QueryRetrieveLevel, "STUDY"}}, everything, 4).status, 0);
}

TEST_F(Find, OnlyWhatTheCallerMaySee) {
    const auto answer = find(kStudyRoot, {{DCM_QueryRetrieveLevel, "STUDY"}},
                             [](const store::InstanceRecord& r) { return r.township == "Xiying"; });
    ASSERT_EQ(answer.matches.size(), 1u);
    EXPECT_EQ(as_map(answer.matches[0]).at(tag(DCM_StudyInstanceUID)), "1.9.2");
}

// C-MOVE names instances by unique keys: a study (or a list), a series, one instance.
TEST_F(Find, MoveSelectsEveryInstanceUnderTheUniqueKeys) {
    const auto uids = [](const query::Selection& s) {
        std::vector<std::string> out;
        for (const auto& r : s.instances) out.push_back(r.sop_instance_uid);
        return out;
    };
    using V = std::vector<std::string>;
    const auto study = query::select_instances(
        query::kStudyRootMove,
        parse({{DCM_QueryRetrieveLevel, "STUDY"}, {DCM_StudyInstanceUID, "1.9.1"}}), index_,
        everything);
    EXPECT_EQ(study.status, 0);
    EXPECT_EQ(uids(study), (V{"1.9.1.1.1", "1.9.1.1.2", "1.9.1.2.1"}));
    const auto both = query::select_instances(
        query::kStudyRootMove,
        parse({{DCM_QueryRetrieveLevel, "STUDY"}, {DCM_StudyInstanceUID, "1.9.2\\1.9.1\\1.9.2"}}),
        index_, everything);
    EXPECT_EQ(both.instances.size(), 4u) << "a list, duplicates once";
    const auto series = query::select_instances(query::kStudyRootMove,
                                                parse({{DCM_QueryRetrieveLevel, "SERIES"},
                                                       {DCM_StudyInstanceUID, "1.9.1"},
                                                       {DCM_SeriesInstanceUID, "1.9.1.2"}}),
                                                index_, everything);
    EXPECT_EQ(uids(series), V{"1.9.1.2.1"});
    const auto image = query::select_instances(
        query::kPatientRootMove,
        parse({{DCM_QueryRetrieveLevel, "IMAGE"}, {DCM_SOPInstanceUID, "1.9.1.1.2"}}), index_,
        everything);
    EXPECT_EQ(uids(image), V{"1.9.1.1.2"});
    const auto patient = query::select_instances(
        query::kPatientRootMove,
        parse({{DCM_QueryRetrieveLevel, "PATIENT"}, {DCM_PatientID, "P2"}}), index_, everything);
    EXPECT_EQ(uids(patient), V{"1.9.2.1.1"});
}

TEST_F(Find, MoveRefusesWhatItCannotNameAndOnlyMovesWhatTheCallerMaySee) {
    const auto no_uid = query::select_instances(
        query::kStudyRootMove, parse({{DCM_QueryRetrieveLevel, "STUDY"}, {DCM_PatientName, "*"}}),
        index_, everything);
    EXPECT_EQ(no_uid.status, 0xA900);
    EXPECT_NE(no_uid.reason.find("Study Instance UID"), std::string::npos);
    const auto too_many = query::select_instances(
        query::kStudyRootMove,
        parse({{DCM_QueryRetrieveLevel, "STUDY"}, {DCM_StudyInstanceUID, "1.9.1"}}), index_,
        everything, 2);
    EXPECT_EQ(too_many.status, 0xA700);
    EXPECT_TRUE(too_many.instances.empty());
    const auto hidden = query::select_instances(
        query::kStudyRootMove,
        parse({{DCM_QueryRetrieveLevel, "STUDY"}, {DCM_StudyInstanceUID, "1.9.1\\1.9.2"}}), index_,
        [](const store::InstanceRecord& r) { return r.township == "Xiying"; });
    ASSERT_EQ(hidden.instances.size(), 1u);
    EXPECT_EQ(hidden.instances[0].study_instance_uid, "1.9.2");
}

// What a viewer receives: DCMTK reads it back, UTF-8 names declared as ISO_IR 192.
TEST(FindResponse, EncodesUtf8WithItsCharacterSet) {
    for (auto [uid, syntax] : {std::pair{kImplicit, EXS_LittleEndianImplicit},
                               std::pair{kExplicit, EXS_LittleEndianExplicit}}) {
        const Bytes bytes = cd::encode_query_response({{tag(DCM_QueryRetrieveLevel), "STUDY"},
                                                       {tag(DCM_PatientName), "\u5F20^\u4E09"},
                                                       {tag(DCM_StudyDate), ""}},
                                                      uid);
        DcmInputBufferStream stream;
        stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
        stream.setEos();
        DcmDataset ds;
        ds.transferInit();
        ASSERT_TRUE(ds.read(stream, syntax).good());
        ds.transferEnd();
        OFString value;
        ASSERT_TRUE(ds.findAndGetOFString(DCM_SpecificCharacterSet, value).good());
        EXPECT_EQ(value, "ISO_IR 192");
        ASSERT_TRUE(ds.findAndGetOFString(DCM_PatientName, value).good());
        EXPECT_EQ(std::string(value.c_str()), "\u5F20^\u4E09");
        DcmElement* date = nullptr;
        ASSERT_TRUE(ds.findAndGetElement(DCM_StudyDate, date).good());
        EXPECT_EQ(date->getLength(), 0u) << "an empty value is sent as zero length";
    }
    const Bytes ascii = cd::encode_query_response({{tag(DCM_PatientID), "P1"}}, kExplicit);
    DcmInputBufferStream stream;
    stream.setBuffer(ascii.data(), static_cast<offile_off_t>(ascii.size()));
    stream.setEos();
    DcmDataset ds;
    ds.transferInit();
    ASSERT_TRUE(ds.read(stream, EXS_LittleEndianExplicit).good());
    ds.transferEnd();
    EXPECT_FALSE(ds.tagExists(DCM_SpecificCharacterSet)) << "ASCII needs no character set";
}

}  // namespace
}  // namespace countylink
