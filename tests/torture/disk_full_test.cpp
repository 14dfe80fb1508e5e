// Disk full: the data directory on a 24 MiB tmpfs the test mounts, filled with a ballast file
// until little room is left. The gateway must refuse (C-STORE 0xA700, STOW-RS 507), say so on
// /readyz, keep every object it acknowledged, and take objects again by itself once the
// ballast is gone.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>

#include "tests/torture/torture.hpp"

namespace countylink::testing::torture {
namespace {

// A size-limited tmpfs at `dir` for the life of the object (needs root, as CI runs).
class SmallFilesystem {
  public:
    SmallFilesystem(const fs::path& dir, const std::string& size) : dir_(dir) {
        fs::create_directories(dir_);
        if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
            throw std::runtime_error("cannot mount a tmpfs at " + dir_.string() + ": " +
                                     std::strerror(errno) +
                                     " (the disk-full test needs root / CAP_SYS_ADMIN)");
        }
    }
    ~SmallFilesystem() { ::umount2(dir_.c_str(), MNT_DETACH); }
    SmallFilesystem(const SmallFilesystem&) = delete;
    SmallFilesystem& operator=(const SmallFilesystem&) = delete;

    uint64_t free_bytes() const {
        struct statvfs s {};
        ::statvfs(dir_.c_str(), &s);
        return uint64_t{s.f_bavail} * s.f_frsize;
    }

  private:
    fs::path dir_;
};

// Writes zeros to `file` until only `leave` bytes are free on its filesystem.
void fill_until(const SmallFilesystem& disk, const fs::path& file, uint64_t leave) {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    const std::vector<char> block(64 * 1024, '\0');
    while (disk.free_bytes() > leave + block.size()) {
        out.write(block.data(), static_cast<std::streamsize>(block.size()));
        out.flush();
        if (!out) break;
    }
}

// The DIMSE statuses storescu -d reports, in order.
std::vector<std::string> store_statuses(const std::string& output) {
    static const std::regex status(R"(DIMSE Status\s*:\s*0x([0-9a-fA-F]{4}))");
    std::vector<std::string> out;
    for (std::sregex_iterator it(output.begin(), output.end(), status), end; it != end; ++it) {
        out.push_back((*it)[1].str());
    }
    return out;
}

int stow_status(const Gateway& gw, const fs::path& file) {
    const auto r =
        run("curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer " + gw.token() +
            "' -H 'Content-Type: multipart/related; type=\"application/dicom\"; boundary=FULL'"
            " --data-binary @<(printf -- '--FULL\\r\\nContent-Type: application/dicom\\r\\n\\r\\n';"
            " cat '" +
            file.string() + "'; printf -- '\\r\\n--FULL--\\r\\n') http://127.0.0.1:" +
            std::to_string(gw.http_port()) + "/dicomweb/studies");
    return std::atoi(r.output.c_str());
}

TEST(DiskFull, RefusesCleanlyKeepsWhatItAcknowledgedAndResumesWhenFreed) {
    TempDir tmp;
    const fs::path mount = tmp.path() / "small";
    SmallFilesystem disk(mount, "24m");
    const fs::path data = mount / "data";
    Gateway gw(data);
    ASSERT_EQ(gw.get("/readyz").status, 200);

    // 40 objects of 512 KiB; 2 MiB left: the disk fills part way through.
    const auto files = synth_ct(tmp.path() / "objects", 40, 2, 4242, 512);
    const fs::path ballast = mount / "ballast";
    fill_until(disk, ballast, 2u << 20);

    std::string args = " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port());
    std::string list;
    for (const auto& f : files) list += " '" + f.string() + "'";
    const auto first = run("storescu -d -R -nh" + args + list);
    const auto statuses = store_statuses(first.output);
    ASSERT_EQ(statuses.size(), files.size()) << first.output;
    std::map<std::string, fs::path> acknowledged;
    std::size_t refused = 0;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (statuses[i] == "0000") {
            acknowledged[sop_uid(files[i])] = files[i];
        } else {
            EXPECT_EQ(statuses[i], "a700") << "object " << i;
            ++refused;
        }
    }
    EXPECT_GT(acknowledged.size(), 0u);
    ASSERT_GT(refused, 0u) << "the disk never filled; free: " << disk.free_bytes();
    EXPECT_NE(first.output.find("disk full"), std::string::npos) << first.output;

    // Full: STOW-RS says 507, readiness says why, echo still works.
    EXPECT_EQ(stow_status(gw, files.back()), 507);
    const auto ecg = read_file(shared_dir() / "corpus" / "ecg" / "aecg" / "Example_aECG.xml");
    const auto ecg_upload =
        gw.post("/api/v1/ecg", gw.token(),
                std::string(reinterpret_cast<const char*>(ecg.data()), ecg.size()));
    EXPECT_EQ(ecg_upload.status, 507) << ecg_upload.body;
    const auto ready = gw.get("/readyz");
    EXPECT_EQ(ready.status, 503);
    EXPECT_NE(ready.body.find("full"), std::string::npos) << ready.body;
    EXPECT_EQ(run("echoscu" + args).exit_code, 0);
    // Counted where the disk ran out: while spooling (refused, modality not yet known) or
    // while storing (failed); which one depends on how much space the last stores left.
    EXPECT_GE(
        metric(
            gw,
            R"(countylink_objects_total{outcome="failed",township="unregistered",modality="CT"})") +
            metric(
                gw,
                R"(countylink_objects_total{outcome="refused",township="unregistered",modality="none"})"),
        static_cast<double>(refused));

    // Space comes back: no restart, the refused objects go in, readiness recovers.
    fs::remove(ballast);
    std::vector<fs::path> retry;
    for (const auto& f : files) {
        if (!acknowledged.contains(sop_uid(f))) retry.push_back(f);
    }
    for (const auto& f : storescu_acknowledged(gw.dicom_port(), retry)) {
        acknowledged[sop_uid(f)] = f;
    }
    EXPECT_EQ(acknowledged.size(), files.size());
    EXPECT_TRUE(eventually([&] { return gw.get("/readyz").status == 200; }));
    const auto bad = missing_or_changed(gw, acknowledged);
    EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
    EXPECT_TRUE(index_problems(data).empty());
}

}  // namespace
}  // namespace countylink::testing::torture
