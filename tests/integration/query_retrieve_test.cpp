// C-FIND and C-MOVE as county viewers and township equipment use them, against the peers they
// run: DCMTK findscu (both information models, every level, responses extracted to files and
// read back) and movescu (retrieving to its own storage SCP), and Orthanc (a PACS or viewer
// workstation querying and retrieving through its REST API).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;

// Two townships, each routed to its own reading queue; a reader of one queue and an admin
// with DICOM viewers (the admin's is also Orthanc's AE title).
const std::string kConfig = R"(
[[townships]]
name = "Dongxiang"
ae_titles = ["CT_TOWN01"]
[[townships]]
name = "Xiying"
ae_titles = ["US_TOWN02"]
[[routing.rules]]
townships = ["Dongxiang"]
queues = ["imaging"]
[[routing.rules]]
townships = ["Xiying"]
queues = ["xiying"]
[api]
tokens = [{name = "admin", token = "admin-token-for-find-tests-0123456789"}]
[[api.principals]]
name = "admin"
role = "admin"
ae_titles = ["ADMIN_WS", "ORTHANC"]
[[api.principals]]
name = "rad"
role = "reader"
queues = ["imaging"]
ae_titles = ["RAD_WS1"]
)";

struct Stored {
    std::string study, series, sop, patient_name;
};

// `options`: e.g. -xx to propose the JPEG extended syntax a file is in.
Stored store(const Gateway& gw, const std::string& ae, const fs::path& file,
             const std::string& options = "") {
    const auto r = run("storescu " + options + " -aet " + ae + " -aec COUNTYLINK 127.0.0.1 " +
                       std::to_string(gw.dicom_port()) + " '" + file.string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return {dicom_value(file, "0020,000d"), dicom_value(file, "0020,000e"),
            dicom_value(file, "0008,0018"), dicom_value(file, "0010,0010")};
}

struct FindResult {
    CommandResult command;
    std::vector<fs::path> responses;  // rsp0001.dcm, ... in order
};

// findscu from `ae` with `model` ("-S" study root, "-P" patient root) and keys ("-k ..."),
// every response extracted to a file.
FindResult findscu(const Gateway& gw, const fs::path& dir, const std::string& ae,
                   const std::string& model, const std::string& keys) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    FindResult out;
    out.command = run("findscu " + model + " -X -od '" + dir.string() + "' -aet " + ae +
                      " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " " + keys);
    for (const auto& e : fs::directory_iterator(dir)) out.responses.push_back(e.path());
    std::sort(out.responses.begin(), out.responses.end());
    return out;
}

std::vector<std::string> values(const FindResult& r, const std::string& tag) {
    std::vector<std::string> out;
    for (const auto& f : r.responses) out.push_back(dicom_value(f, tag));
    std::sort(out.begin(), out.end());
    return out;
}

class Find : public ::testing::Test {
  protected:
    // The reader's viewer takes C-MOVEs at this port (movescu's own storage SCP).
    const uint16_t viewer_port_ = free_port();
    std::string config() const {
        return kConfig +
               "[[dicom.move_destinations]]\nae_title = \"RAD_WS1\"\n"
               "host = \"127.0.0.1\"\nport = " +
               std::to_string(viewer_port_) + "\n";
    }
    void SetUp() override {
        ct_ = store(gw_, "CT_TOWN01", shared_dir() / "corpus/dicom/CT_small.dcm");
        mr_ = store(gw_, "US_TOWN02", shared_dir() / "corpus/dicom/MR_small.dcm");
    }
    TempDir tmp_;
    Gateway gw_{tmp_.path() / "data", config()};
    Stored ct_, mr_;
};

TEST_F(Find, ViewersFindWhatTheirPrincipalMayRead) {
    const std::string keys =
        "-k QueryRetrieveLevel=STUDY -k StudyInstanceUID= -k PatientName= "
        "-k ModalitiesInStudy= -k NumberOfStudyRelatedInstances=";
    const auto admin = findscu(gw_, tmp_.path() / "admin", "ADMIN_WS", "-S", keys);
    ASSERT_EQ(admin.command.exit_code, 0) << admin.command.output;
    std::vector<std::string> both{ct_.study, mr_.study};
    std::sort(both.begin(), both.end());
    EXPECT_EQ(values(admin, "0020,000d"), both);

    // The reader's queue holds the CT study only.
    const auto rad = findscu(gw_, tmp_.path() / "rad", "RAD_WS1", "-S", keys);
    ASSERT_EQ(rad.command.exit_code, 0) << rad.command.output;
    ASSERT_EQ(rad.responses.size(), 1u) << rad.command.output;
    EXPECT_EQ(dicom_value(rad.responses[0], "0020,000d"), ct_.study);
    EXPECT_EQ(dicom_value(rad.responses[0], "0010,0010"), ct_.patient_name);
    EXPECT_EQ(dicom_value(rad.responses[0], "0008,0061"), "CT");
    EXPECT_EQ(dicom_value(rad.responses[0], "0020,1208"), "1");
    EXPECT_NE(gw_.get("/metrics")
                  .body.find(
                      R"(countylink_dicom_find_requests_total{level="STUDY",outcome="success"} 2)"),
              std::string::npos);
}

TEST_F(Find, EquipmentFindsItsOwnTownshipAndStrangersNothing) {
    const auto own = findscu(gw_, tmp_.path() / "own", "US_TOWN02", "-S",
                             "-k QueryRetrieveLevel=STUDY -k StudyInstanceUID=");
    ASSERT_EQ(own.command.exit_code, 0) << own.command.output;
    EXPECT_EQ(values(own, "0020,000d"), std::vector{mr_.study});

    const auto stranger =
        findscu(gw_, tmp_.path() / "stranger", "STRANGER", "-S", "-k QueryRetrieveLevel=STUDY");
    EXPECT_NE(stranger.command.exit_code, 0);
    EXPECT_NE(stranger.command.output.find("No Acceptable Presentation Contexts"),
              std::string::npos)
        << stranger.command.output;
    EXPECT_TRUE(stranger.responses.empty());
    EXPECT_NE(gw_.log().find("ae_titles"), std::string::npos) << "the log says what to configure";
}

// From a study down to its series and instances, as a viewer browses; and the Patient Root
// model from the patient.
TEST_F(Find, DrillsDownByLevelInBothModels) {
    const fs::path ct_file = shared_dir() / "corpus/dicom/CT_small.dcm";
    const auto studies = findscu(gw_, tmp_.path() / "studies", "ADMIN_WS", "-S",
                                 "-k QueryRetrieveLevel=STUDY -k StudyInstanceUID=" + ct_.study +
                                     " -k StudyDescription= -k StudyTime= -k StudyID="
                                     " -k PatientSex=");
    ASSERT_EQ(studies.responses.size(), 1u) << studies.command.output;
    // What a viewer's study list shows, as the township sent it.
    for (const char* tag : {"0008,1030", "0008,0030", "0020,0010", "0010,0040"}) {
        EXPECT_EQ(dicom_value(studies.responses[0], tag), dicom_value(ct_file, tag)) << tag;
        EXPECT_FALSE(dicom_value(ct_file, tag).empty()) << tag;
    }

    const auto series = findscu(gw_, tmp_.path() / "series", "ADMIN_WS", "-S",
                                "-k QueryRetrieveLevel=SERIES -k StudyInstanceUID=" + ct_.study +
                                    " -k SeriesInstanceUID= -k Modality= -k SeriesNumber="
                                    " -k SeriesDescription=");
    ASSERT_EQ(series.command.exit_code, 0) << series.command.output;
    ASSERT_EQ(series.responses.size(), 1u);
    EXPECT_EQ(dicom_value(series.responses[0], "0020,000e"), ct_.series);
    EXPECT_EQ(dicom_value(series.responses[0], "0008,0060"), "CT");
    EXPECT_EQ(dicom_value(series.responses[0], "0020,0011"), dicom_value(ct_file, "0020,0011"));

    const auto images = findscu(gw_, tmp_.path() / "images", "ADMIN_WS", "-S",
                                "-k QueryRetrieveLevel=IMAGE -k StudyInstanceUID=" + ct_.study +
                                    " -k SeriesInstanceUID=" + ct_.series +
                                    " -k SOPInstanceUID= -k InstanceNumber=");
    ASSERT_EQ(images.responses.size(), 1u) << images.command.output;
    EXPECT_EQ(dicom_value(images.responses[0], "0008,0018"), ct_.sop);
    EXPECT_EQ(dicom_value(images.responses[0], "0020,0013"), dicom_value(ct_file, "0020,0013"));

    const std::string patient_id =
        dicom_value(shared_dir() / "corpus/dicom/MR_small.dcm", "0010,0020");
    const auto patients = findscu(gw_, tmp_.path() / "patients", "ADMIN_WS", "-P",
                                  "-k QueryRetrieveLevel=PATIENT -k PatientID=" + patient_id +
                                      " -k PatientName= -k NumberOfPatientRelatedStudies=");
    ASSERT_EQ(patients.responses.size(), 1u) << patients.command.output;
    EXPECT_EQ(dicom_value(patients.responses[0], "0010,0010"), mr_.patient_name);
    EXPECT_EQ(dicom_value(patients.responses[0], "0020,1200"), "1");

    // Wildcards on the name, a date range that excludes everything.
    const auto wild = findscu(gw_, tmp_.path() / "wild", "ADMIN_WS", "-S",
                              "-k QueryRetrieveLevel=STUDY -k 'PatientName=*mr*' "
                              "-k StudyInstanceUID=");
    EXPECT_EQ(values(wild, "0020,000d"), std::vector{mr_.study}) << wild.command.output;
    const auto none = findscu(gw_, tmp_.path() / "none", "ADMIN_WS", "-S",
                              "-k QueryRetrieveLevel=STUDY -k StudyDate=20300101-");
    EXPECT_EQ(none.command.exit_code, 0) << none.command.output;
    EXPECT_TRUE(none.responses.empty());
}

// Study Root has no PATIENT level: 0xA900, which findscu names, and the reason in our log.
TEST_F(Find, AWrongLevelIsRefusedWithAReason) {
    const auto r = findscu(gw_, tmp_.path() / "wrong", "ADMIN_WS", "-S -v",
                           "-k QueryRetrieveLevel=PATIENT -k PatientID=");
    EXPECT_TRUE(r.responses.empty());
    EXPECT_NE(r.command.output.find("DataSetDoesNotMatchSOPClass"), std::string::npos)
        << r.command.output;
    EXPECT_NE(gw_.log().find("Query/Retrieve Level 'PATIENT'"), std::string::npos);
}

// A viewer that cancels after the first match (findscu --cancel): our answer is complete
// before the C-CANCEL is read, so the cancel is ignored and the association ends normally.
TEST_F(Find, ACancelAfterTheFirstMatchEndsCleanly) {
    const auto r = findscu(gw_, tmp_.path() / "cancel", "ADMIN_WS", "-S --cancel 1",
                           "-k QueryRetrieveLevel=STUDY -k StudyInstanceUID=");
    EXPECT_EQ(r.command.exit_code, 0) << r.command.output;
    EXPECT_GE(r.responses.size(), 1u);
    EXPECT_TRUE(eventually([&] {
        return gw_.log().find("AE 'ADMIN_WS' (viewer of admin) released") != std::string::npos;
    })) << gw_.log();
    EXPECT_EQ(gw_.log().find("aborted"), std::string::npos) << gw_.log();
}

// Orthanc queries us from its REST API (what a county PACS or its viewer does).
TEST_F(Find, OrthancQueriesStudies) {
    Orthanc orthanc(tmp_.path() / "orthanc");
    orthanc.add_modality("countylink", "COUNTYLINK", gw_.dicom_port());
    orthanc.start();
    const auto asked =
        http_request(orthanc.http_port(), "POST", "/modalities/countylink/query", "",
                     json::serialize(json::object{
                         {"Level", "Study"},
                         {"Query", json::object{{"PatientName", "*"}, {"StudyInstanceUID", ""}}}}));
    ASSERT_EQ(asked.status, 200) << asked.body << gw_.log();
    const std::string query = std::string(json::parse(asked.body).at("ID").as_string());
    const auto answers = http_get(orthanc.http_port(), "/queries/" + query + "/answers");
    ASSERT_EQ(answers.status, 200);
    const auto list = json::parse(answers.body).as_array();
    ASSERT_EQ(list.size(), 2u) << answers.body;
    std::vector<std::string> studies;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto content =
            http_get(orthanc.http_port(),
                     "/queries/" + query + "/answers/" + std::to_string(i) + "/content?simplify");
        ASSERT_EQ(content.status, 200);
        studies.push_back(
            std::string(json::parse(content.body).at("StudyInstanceUID").as_string()));
    }
    std::sort(studies.begin(), studies.end());
    std::vector<std::string> both{ct_.study, mr_.study};
    std::sort(both.begin(), both.end());
    EXPECT_EQ(studies, both);
}

}  // namespace
// movescu from the reader's viewer, the instances going to the viewer's storage SCP (DCMTK
// storescp, bit-preserving): the CT study (on its queue) arrives with the dataset bytes that
// were sent; the MR study (not on its queue) moves nothing; an unknown destination is refused.
TEST_F(Find, MovescuRetrievesAStudyToTheViewer) {
    const fs::path received = tmp_.path() / "received";
    fs::create_directories(received);
    Process viewer({"storescp", "+xa", "+B", "-aet", "RAD_WS1", "-od", received.string(),
                    std::to_string(viewer_port_)},
                   tmp_.path() / "storescp.log");
    wait_for_port(viewer_port_);
    const auto movescu = [&](const std::string& study, const std::string& destination) {
        return run("movescu -v -S -aet RAD_WS1 -aem " + destination +
                   " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw_.dicom_port()) +
                   " -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=" + study);
    };
    const auto r = movescu(ct_.study, "RAD_WS1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Final Move Response (Success)"), std::string::npos) << r.output;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(received)) files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u) << r.output;
    EXPECT_EQ(dataset_bytes(read_file(files[0])),
              storescp_received("storescu", shared_dir() / "corpus/dicom/CT_small.dcm"))
        << "the dataset as the township sent it";
    EXPECT_EQ(dicom_value(files[0], "0008,0018"), ct_.sop);
    EXPECT_NE(
        gw_.get("/metrics")
            .body.find(
                R"(countylink_dicom_move_instances_total{destination="RAD_WS1",outcome="sent"} 1)"),
        std::string::npos);

    for (const auto& f : files) fs::remove(f);
    const auto hidden = movescu(mr_.study, "RAD_WS1");
    EXPECT_EQ(hidden.exit_code, 0) << hidden.output;
    EXPECT_TRUE(fs::is_empty(received)) << "another queue's study must not leave";

    const auto nowhere = movescu(ct_.study, "NOWHERE");
    EXPECT_NE(nowhere.output.find("MoveDestinationUnknown"), std::string::npos) << nowhere.output;
    EXPECT_NE(gw_.log().find("[[dicom.move_destinations]]"), std::string::npos);
}

// A move of several instances tells the viewer after each one how far it got (pending
// responses with the remaining count going down), so a long move shows progress and a viewer's
// response timeout does not run out while the study is on its way.
TEST_F(Find, MovescuSeesProgressAfterEachInstance) {
    const fs::path objects = tmp_.path() / "ct";
    const auto synth = run((bin_dir() / "countylink-synth").string() + " --out '" +
                           objects.string() + "' --kind ct --count 4 --seed 9");
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    const auto sent = run("storescu -aet CT_TOWN01 -aec COUNTYLINK 127.0.0.1 " +
                          std::to_string(gw_.dicom_port()) + " '" + objects.string() + "'/*");
    ASSERT_EQ(sent.exit_code, 0) << sent.output;
    const fs::path received = tmp_.path() / "received";
    fs::create_directories(received);
    Process viewer(
        {"storescp", "-aet", "RAD_WS1", "-od", received.string(), std::to_string(viewer_port_)},
        tmp_.path() / "storescp.log");
    wait_for_port(viewer_port_);
    const std::string study = dicom_value(objects / "ct-000001.dcm", "0020,000d");
    const auto r = run("movescu -d -S -aet RAD_WS1 -aem RAD_WS1 -aec COUNTYLINK 127.0.0.1 " +
                       std::to_string(gw_.dicom_port()) +
                       " -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=" + study);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto final_at = r.output.find("Received Final Move Response");
    ASSERT_NE(final_at, std::string::npos) << r.output;
    EXPECT_NE(r.output.find("0x0000: Success", final_at), std::string::npos) << r.output;
    // The remaining counts of the pending responses, in order: 4 announced, then 3, 2, 1.
    std::vector<int> remaining;
    const std::regex pending(R"(Remaining Suboperations\s*:\s*(\d+))");
    for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), pending);
         it != std::sregex_iterator(); ++it) {
        remaining.push_back(std::stoi((*it)[1]));
    }
    ASSERT_FALSE(remaining.empty()) << r.output;
    if (remaining.back() == 0) remaining.pop_back();  // the final response's, if printed
    EXPECT_EQ(remaining, (std::vector<int>{4, 3, 2, 1})) << r.output;
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(received)) files += e.is_regular_file();
    EXPECT_EQ(files, 4u);
}

// A viewer's storage SCP that takes only the plain syntaxes (storescp without +xa) still gets
// a study the township sent as JPEG: decompressed, the same instance; the stored object is
// unchanged (a second move to an SCP that takes JPEG gets it as stored).
TEST_F(Find, MoveToAPlainStorageScpGetsJpegDecompressed) {
    const fs::path jpeg = shared_dir() / "corpus/dicom/JPGExtended.dcm";
    const Stored jpg = store(gw_, "CT_TOWN01", jpeg, "-xx");
    const auto move_into = [&](const std::string& scp_options, const fs::path& dir) {
        fs::create_directories(dir);
        std::vector<std::string> args{"storescp"};
        if (!scp_options.empty()) args.push_back(scp_options);
        for (const std::string a : {"-aet", "RAD_WS1", "-od"}) args.push_back(a);
        args.push_back(dir.string());
        args.push_back(std::to_string(viewer_port_));
        Process viewer(args, dir.string() + ".log");
        wait_for_port(viewer_port_);
        const auto r = run("movescu -v -S -aet RAD_WS1 -aem RAD_WS1 -aec COUNTYLINK 127.0.0.1 " +
                           std::to_string(gw_.dicom_port()) +
                           " -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=" + jpg.study);
        EXPECT_EQ(r.exit_code, 0) << r.output;
        EXPECT_NE(r.output.find("Final Move Response (Success)"), std::string::npos) << r.output;
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
        EXPECT_EQ(files.size(), 1u) << r.output;
        return files.empty()
                   ? std::string()
                   : run("dcmdump -M +P 0002,0010 +P 0008,0018 '" + files[0].string() + "'").output;
    };
    const std::string plain = move_into("", tmp_.path() / "plain");
    EXPECT_EQ(plain.find("JPEG"), std::string::npos) << plain;
    EXPECT_NE(plain.find("LittleEndianExplicit"), std::string::npos) << plain;
    EXPECT_NE(plain.find(jpg.sop), std::string::npos) << plain;
    const std::string as_stored = move_into("+xa", tmp_.path() / "any");
    EXPECT_NE(as_stored.find("JPEGExtended"), std::string::npos) << as_stored;
}

// getscu from the reader's viewer: the instances come back on its own association (storage
// contexts where it takes the SCP role). An object stored as JPEG goes as stored to a viewer
// that proposed JPEG for its class, decompressed to one that proposed only the plain
// syntaxes; JPEG 2000 (no decoder here) fails and the final status says so.
TEST_F(Find, GetscuRetrievesOnItsOwnAssociation) {
    const fs::path jpeg = shared_dir() / "corpus/dicom/JPGExtended.dcm";
    const Stored jpg = store(gw_, "CT_TOWN01", jpeg, "-xx");
    const auto getscu = [&](const std::string& options, const std::string& study,
                            const fs::path& into) {
        fs::create_directories(into);
        return run("getscu -v -S " + options + " -aet RAD_WS1 -od '" + into.string() +
                   "' -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw_.dicom_port()) +
                   " -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=" + study);
    };
    const auto files_in = [](const fs::path& dir) {
        std::vector<fs::path> out;
        for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
        return out;
    };
    const auto ct = getscu("", ct_.study, tmp_.path() / "ct");
    ASSERT_EQ(ct.exit_code, 0) << ct.output;
    EXPECT_NE(ct.output.find("Number of Completed Suboperations : 1"), std::string::npos)
        << ct.output;
    const auto ct_files = files_in(tmp_.path() / "ct");
    ASSERT_EQ(ct_files.size(), 1u);
    EXPECT_EQ(dicom_value(ct_files[0], "0008,0018"), ct_.sop);

    // Uncompressed proposed only: the JPEG object is decompressed for the viewer, same
    // instance, pixel data the size of the image.
    const auto plain = getscu("", jpg.study, tmp_.path() / "uncompressed");
    EXPECT_NE(plain.output.find("Number of Completed Suboperations : 1"), std::string::npos)
        << plain.output;
    const auto plain_files = files_in(tmp_.path() / "uncompressed");
    ASSERT_EQ(plain_files.size(), 1u);
    EXPECT_EQ(dicom_value(plain_files[0], "0008,0018"), jpg.sop);
    EXPECT_EQ(run("dcmdump -M +P 0002,0010 '" + plain_files[0].string() + "'").output.find("JPEG"),
              std::string::npos)
        << "arrived decompressed";
    const auto us_value = [](const fs::path& file, const std::string& tag) {
        std::smatch m;
        const std::string dump = run("dcmdump +P " + tag + " '" + file.string() + "'").output;
        return std::regex_search(dump, m, std::regex(R"(US (\d+))")) ? std::stoi(m[1]) : -1;
    };
    const int rows = us_value(jpeg, "0028,0010"), cols = us_value(jpeg, "0028,0011");
    ASSERT_GT(rows * cols, 0);
    const auto pixels = run("dcmdump +P 7fe0,0010 '" + plain_files[0].string() + "'").output;
    EXPECT_NE(pixels.find("# " + std::to_string(rows * cols * 2) + ","), std::string::npos)
        << pixels.substr(0, 200);

    // JPEG 2000 has no decoder here: that sub-operation fails, with the reason in our log.
    const fs::path j2k = shared_dir() / "corpus/dicom/MR2_J2KI.dcm";
    const Stored j2k_stored = store(gw_, "CT_TOWN01", j2k, "-xw");
    const auto refused = getscu("", j2k_stored.study, tmp_.path() / "j2k");
    EXPECT_NE(refused.output.find("Number of Failed Suboperations    : 1"), std::string::npos)
        << refused.output;
    EXPECT_TRUE(files_in(tmp_.path() / "j2k").empty());
    EXPECT_NE(gw_.log().find("not sent: the viewer took no storage context"), std::string::npos)
        << gw_.log();
    // JPEG proposed (+xx: JPEG extended first): it goes as stored.
    const auto taken = getscu("+xx", jpg.study, tmp_.path() / "jpeg");
    EXPECT_NE(taken.output.find("Number of Completed Suboperations : 1"), std::string::npos)
        << taken.output;
    const auto jpeg_files = files_in(tmp_.path() / "jpeg");
    ASSERT_EQ(jpeg_files.size(), 1u);
    EXPECT_EQ(dicom_value(jpeg_files[0], "0008,0018"), jpg.sop);

    // Another queue's study: nothing comes.
    const auto hidden = getscu("", mr_.study, tmp_.path() / "hidden");
    EXPECT_EQ(hidden.exit_code, 0) << hidden.output;
    EXPECT_TRUE(files_in(tmp_.path() / "hidden").empty());
}

// A viewer AE title tied to its station's address (ae_hosts): from any other address the
// association is rejected, so knowing the AE title is not enough.
TEST(Viewer, AeHostsTieTheAeTitleToItsStation) {
    TempDir tmp;
    const auto with_hosts = [&](const std::string& hosts, const std::string& name) {
        std::string config = kConfig;
        const std::string anchor = "ae_titles = [\"RAD_WS1\"]\n";
        config.replace(config.find(anchor), anchor.size(), anchor + "ae_hosts = " + hosts + "\n");
        return std::make_unique<Gateway>(tmp.path() / name, config);
    };
    const auto find = [](const Gateway& gw) {
        return run("findscu -S -aet RAD_WS1 -aec COUNTYLINK 127.0.0.1 " +
                   std::to_string(gw.dicom_port()) + " -k QueryRetrieveLevel=STUDY");
    };
    const auto elsewhere = with_hosts("[\"10.20.0.31\"]", "elsewhere");
    const auto refused = find(*elsewhere);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.output.find("Association Rejected"), std::string::npos) << refused.output;
    // The server logs the refusal after sending it: findscu may return first.
    EXPECT_TRUE(eventually([&] {
        return elsewhere->log().find("not one of principal 'rad''s ae_hosts") != std::string::npos;
    })) << elsewhere->log();
    const auto here = with_hosts("[\"127.0.0.1\"]", "here");
    const auto accepted = find(*here);
    EXPECT_EQ(accepted.exit_code, 0) << accepted.output;
}

// Orthanc (the county PACS) asks us to move a study to itself.
TEST(Move, OrthancRetrievesAStudyIntoItself) {
    TempDir tmp;
    Orthanc orthanc(tmp.path() / "orthanc");
    Gateway gw(tmp.path() / "data", kConfig +
                                        "[[dicom.move_destinations]]\nae_title = "
                                        "\"ORTHANC\"\nhost = \"127.0.0.1\"\nport = " +
                                        std::to_string(orthanc.dicom_port()) + "\n");
    orthanc.add_modality("countylink", "COUNTYLINK", gw.dicom_port());
    orthanc.start();
    const Stored ct = store(gw, "CT_TOWN01", shared_dir() / "corpus/dicom/CT_small.dcm");
    const auto moved =
        http_request(orthanc.http_port(), "POST", "/modalities/countylink/move", "",
                     json::serialize(json::object{
                         {"Level", "Study"},
                         {"Resources", json::array{json::object{{"StudyInstanceUID", ct.study}}}},
                         {"TargetAet", "ORTHANC"},
                         {"Synchronous", true}}));
    ASSERT_EQ(moved.status, 200) << moved.body << gw.log();
    EXPECT_EQ(orthanc.instance_count(), 1u);
    EXPECT_FALSE(orthanc.file_of(ct.sop).empty());
}

}  // namespace countylink::testing
