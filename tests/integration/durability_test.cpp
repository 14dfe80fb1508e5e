// What was acknowledged stays: across kill -9, and for objects far larger than memory.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>
#include <regex>
#include <set>

#include <sqlite3.h>

#include "codecs/dicom/part10.hpp"
#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

std::string gw_args(const Gateway& gw) {
    return " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " ";
}

std::string sop_uid(const fs::path& file) {
    return dicom_value(file, "0008,0018");
}

TEST(Durability, AcknowledgedObjectSurvivesKillNine) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const auto file = shared_dir() / "corpus" / "dicom" / "CT_small.dcm";
    const std::string uid = sop_uid(file);
    {
        Gateway gw(data);
        const auto r = run("storescu" + gw_args(gw) + "'" + file.string() + "'");
        ASSERT_EQ(r.exit_code, 0) << r.output;
        gw.kill_hard();  // no shutdown, no flush: only what was durable at the answer survives
    }
    Gateway again(data);
    const auto res = again.get("/api/v1/instances/" + uid);
    ASSERT_EQ(res.status, 200);
    std::vector<std::byte> back(res.body.size());
    std::memcpy(back.data(), res.body.data(), res.body.size());
    EXPECT_TRUE(dataset_bytes(back) == storescp_received("storescu", file));
}

// The blob's name and the index row are made durable side by side (GroupCommit); a power cut
// between them leaves a row whose blob is not on disk, for an object never acknowledged. At
// the next start that row goes (the sender still has the object), and sending it again stores
// it afresh. Simulated by removing the blob file while the gateway is down.
TEST(Durability, RestartTakesOutRowsWhoseBlobNeverReachedTheDisk) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const auto ct = shared_dir() / "corpus" / "dicom" / "CT_small.dcm";
    const auto mr = shared_dir() / "corpus" / "dicom" / "MR_small.dcm";
    const auto blob_files = [&] {
        std::set<fs::path> out;
        for (const auto& e : fs::recursive_directory_iterator(data / "blobs")) {
            if (e.path().extension() == ".zst") out.insert(e.path());
        }
        return out;
    };
    fs::path ct_blob;
    {
        Gateway gw(data);
        ASSERT_EQ(run("storescu" + gw_args(gw) + "'" + ct.string() + "'").exit_code, 0);
        const auto first = blob_files();
        ASSERT_EQ(first.size(), 1u);
        ct_blob = *first.begin();
        ASSERT_EQ(run("storescu" + gw_args(gw) + "'" + mr.string() + "'").exit_code, 0);
        gw.kill_hard();
    }
    fs::remove(ct_blob);
    {
        Gateway again(data);
        EXPECT_NE(again.log().find("recovery: 1 index rows named a blob not on disk"),
                  std::string::npos)
            << again.log();
        EXPECT_EQ(again.get("/api/v1/instances/" + sop_uid(ct)).status, 404);
        EXPECT_EQ(again.get("/api/v1/instances/" + sop_uid(mr)).status, 200);
        const auto r = run("storescu" + gw_args(again) + "'" + ct.string() + "'");
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_EQ(again.get("/api/v1/instances/" + sop_uid(ct)).status, 200);
        EXPECT_TRUE(fs::exists(ct_blob));
    }
}

// An operator's slip (index.sqlite deleted, its disk not mounted) leaves an empty index beside a
// full blob store. countylinkd must refuse to start rather than "recover" every study away, and
// countylinkctl reindex must bring the studies back into an index from the blobs' own bytes.
TEST(Durability, LostIndexStopsTheStartAndReindexBringsTheStudiesBack) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const fs::path objects = tmp.path() / "objects";
    const auto synth = run((bin_dir() / "countylink-synth").string() + " --out '" +
                           objects.string() + "' --kind ecg --count 80 --seed 5");
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    {
        Gateway gw(data);
        const auto r = run("storescu" + gw_args(gw) + "'" + objects.string() + "'/*");
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    std::size_t blobs = 0;
    for (const auto& e : fs::recursive_directory_iterator(data / "blobs")) {
        blobs += e.path().extension() == ".zst";
    }
    ASSERT_EQ(blobs, 80u);
    for (const char* name : {"index.sqlite", "index.sqlite-wal", "index.sqlite-shm"}) {
        fs::remove(data / name);
    }
    const auto start = run("timeout 30 " + (bin_dir() / "countylinkd").string() + " --data-dir '" +
                           data.string() + "' --dicom-port " + std::to_string(free_port()) +
                           " --http-port " + std::to_string(free_port()));
    EXPECT_EQ(start.exit_code, 1) << start.output;
    EXPECT_NE(start.output.find("was the index lost or replaced?"), std::string::npos)
        << start.output;
    std::size_t after = 0;
    for (const auto& e : fs::recursive_directory_iterator(data / "blobs")) {
        after += e.path().extension() == ".zst";
    }
    EXPECT_EQ(after, 80u) << "recovery removed studies the index did not know";

    // What the message offers: index the blobs from their own bytes, then start.
    const std::string ctl = (bin_dir() / "countylinkctl").string();
    const auto dry = run(ctl + " reindex --dry-run --data-dir '" + data.string() + "'");
    EXPECT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_NE(dry.output.find("would index 80 instances"), std::string::npos) << dry.output;
    const auto reindex = run(ctl + " reindex --data-dir '" + data.string() + "'");
    ASSERT_EQ(reindex.exit_code, 0) << reindex.output;
    EXPECT_NE(reindex.output.find("indexed 80 instances"), std::string::npos) << reindex.output;
    Gateway gw(data);
    for (const auto& e : fs::directory_iterator(objects)) {
        const auto res = gw.get("/api/v1/instances/" + sop_uid(e.path()));
        ASSERT_EQ(res.status, 200) << e.path();
        std::vector<std::byte> back(res.body.size());
        std::memcpy(back.data(), res.body.data(), res.body.size());
        EXPECT_TRUE(dataset_bytes(back) == dataset_bytes(read_file(e.path()))) << e.path();
    }
    // Never beside a running gateway: the data directory's lock refuses it.
    const auto again = run(ctl + " reindex --data-dir '" + data.string() + "'");
    EXPECT_NE(again.exit_code, 0) << "the gateway holds the data directory";
}

// An index upgraded from before it kept what viewers list: `countylinkctl backfill` reads the
// older instances' blobs and fills it in, so QIDO-RS and C-FIND answer (and match) it.
TEST(Durability, BackfillGivesOlderInstancesWhatViewersList) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const fs::path ct = shared_dir() / "corpus" / "dicom" / "CT_small.dcm";
    {
        Gateway gw(data);
        ASSERT_EQ(run("storescu" + gw_args(gw) + "'" + ct.string() + "'").exit_code, 0);
    }
    // As an index upgraded from schema 0 has it: the row, its new columns empty.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((data / "index.sqlite").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE instances SET study_time = '', study_description = '', "
                           "body_part = '', study_id = '', patient_birth_date = '', "
                           "patient_sex = '', series_number = '', series_description = '', "
                           "instance_number = ''",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);

    const std::string ctl =
        (bin_dir() / "countylinkctl").string() + " backfill --data-dir '" + data.string() + "'";
    const auto dry = run(ctl + " --dry-run");
    EXPECT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_NE(dry.output.find("would fill 1 instances"), std::string::npos) << dry.output;
    const auto filled = run(ctl);
    ASSERT_EQ(filled.exit_code, 0) << filled.output;
    EXPECT_NE(filled.output.find("filled 1 instances"), std::string::npos) << filled.output;
    const auto again = run(ctl);
    EXPECT_NE(again.output.find("nothing to do"), std::string::npos) << again.output;

    Gateway gw(data);
    const auto studies =
        gw.get("/dicomweb/studies?StudyInstanceUID=" + dicom_value(ct, "0020,000d"));
    ASSERT_EQ(studies.status, 200) << studies.body;
    EXPECT_NE(studies.body.find("\"00081030\":{\"vr\":\"LO\",\"Value\":[\"" +
                                dicom_value(ct, "0008,1030") + "\"]"),
              std::string::npos)
        << studies.body;
}

TEST(Durability, ExportGivesTheStoredObjectOffline) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const auto file = shared_dir() / "corpus" / "dicom" / "MR_small_bigendian.dcm";
    {
        Gateway gw(data);
        ASSERT_EQ(run("storescu -R" + gw_args(gw) + "'" + file.string() + "'").exit_code, 0);
    }
    const fs::path out = tmp.path() / "exported.dcm";
    const auto r = run((bin_dir() / "countylinkctl").string() + " export " + sop_uid(file) +
                       " --data-dir '" + data.string() + "' -o '" + out.string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(dataset_bytes(read_file(out)) == storescp_received("storescu -R", file));
    const auto missing = run((bin_dir() / "countylinkctl").string() +
                             " export 1.2.3.4.5 --data-dir '" + data.string() + "' -o /dev/null");
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.output.find("no instance"), std::string::npos) << missing.output;
}

// Label "memory": a 1 GiB multi-frame object through a server whose RSS must stay < 200 MiB.
TEST(Memory, GigabyteObjectWithBoundedMemory) {
    TempDir tmp;
    const fs::path dir = tmp.path() / "mf";
    const auto synth = run((bin_dir() / "countylink-synth").string() + " --out '" + dir.string() +
                           "' --kind mf --count 1 --frames 2048 --rows 512 --cols 512");
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    fs::path file;
    for (const auto& e : fs::directory_iterator(dir)) file = e.path();
    ASSERT_GE(fs::file_size(file), 1ull << 30);

    const fs::path data = tmp.path() / "data";
    Gateway gw(data);
    const auto r = run("storescu" + gw_args(gw) + "'" + file.string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const uint64_t peak = gw.peak_rss_bytes();
    EXPECT_LT(peak, 200ull << 20) << "peak RSS " << (peak >> 20) << " MiB";
    RecordProperty("peak_rss_mib", std::to_string(peak >> 20));
    std::cout << "countylinkd peak RSS while storing 1 GiB: " << (peak >> 20) << " MiB\n";

    const fs::path out = tmp.path() / "exported.dcm";
    const auto exported = run((bin_dir() / "countylinkctl").string() + " export " + sop_uid(file) +
                              " --data-dir '" + data.string() + "' -o '" + out.string() + "'");
    ASSERT_EQ(exported.exit_code, 0) << exported.output;
    // Compare the datasets without loading 1 GiB: skip each file's meta header and cmp.
    auto offset = [](const fs::path& f) {
        std::vector<std::byte> head(64 * 1024);
        std::FILE* in = std::fopen(f.c_str(), "rb");
        head.resize(std::fread(head.data(), 1, head.size(), in));
        std::fclose(in);
        return *codecs::dicom::dataset_offset(head);
    };
    const auto cmp =
        run("cmp <(tail -c +" + std::to_string(offset(file) + 1) + " '" + file.string() +
            "') <(tail -c +" + std::to_string(offset(out) + 1) + " '" + out.string() + "')");
    EXPECT_EQ(cmp.exit_code, 0) << cmp.output;
}

}  // namespace
}  // namespace countylink::testing
