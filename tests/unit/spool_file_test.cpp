// The spool reuses finished files instead of creating one per object; a file that was moved
// away (stored elsewhere, quarantined) must never be reused, and a reused file must read as
// exactly the new object once closed.
#include "gateway/ingest/spool_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/support/byte_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink::ingest {
namespace {

namespace fs = std::filesystem;

std::span<const std::byte> bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::size_t files_in(const fs::path& dir) {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {}));
}

TEST(SpoolFile, FinishedFileIsEmptiedAndReusedByTheNextObject) {
    testing::TempDir dir;
    Spool spool(dir.path());
    fs::path first;
    {
        SpoolFile f(spool);
        f.append(bytes("a long first object"));
        f.close();
        first = f.path();
        EXPECT_EQ(fs::file_size(first), 19u);
    }
    EXPECT_EQ(spool.kept(), 1u);
    SpoolFile next(spool);
    EXPECT_EQ(next.path(), first);
    next.append(bytes("short"));
    next.close();
    EXPECT_EQ(testing::read_bytes(next.path()).size(), 5u) << "no tail of the earlier object";
    EXPECT_EQ(next.size(), 5u);
    EXPECT_EQ(spool.kept(), 0u);
}

// A file a library wrote by name (DCMTK's saveFile, for a C-GET transcode): once adopted, the
// next object in it still reads as exactly itself. Without adopt_written the spool believed
// the file empty and left the tail: the next C-STORE's object failed to parse.
TEST(SpoolFile, FileWrittenByNameIsCutForTheNextObject) {
    testing::TempDir dir;
    Spool spool(dir.path());
    {
        SpoolFile f(spool);
        f.close();
        std::ofstream(f.path(), std::ios::binary | std::ios::trunc) << std::string(4096, 'x');
        f.adopt_written();
        EXPECT_EQ(f.size(), 4096u);
    }
    SpoolFile next(spool);
    next.append(bytes("short"));
    next.close();
    EXPECT_EQ(testing::read_bytes(next.path()).size(), 5u) << "no tail of the written file";
}

TEST(SpoolFile, FileMovedAwayIsNeitherReusedNorRemoved) {
    testing::TempDir dir;
    fs::create_directories(dir.path() / "spool");
    Spool spool(dir.path() / "spool");
    const fs::path quarantined = dir.path() / "quarantined.dcm";
    {
        SpoolFile f(spool);
        f.append(bytes("refused object"));
        fs::rename(f.path(), quarantined);
    }
    EXPECT_EQ(spool.kept(), 0u);
    EXPECT_EQ(fs::file_size(quarantined), 14u) << "the quarantined copy must stay intact";
    SpoolFile next(spool);
    next.append(bytes("x"));
    EXPECT_EQ(fs::file_size(quarantined), 14u);
}

TEST(SpoolFile, KeepsNoMoreThanItsLimitAndRemovesTheRest) {
    testing::TempDir dir;
    Spool spool(dir.path(), 2);
    {
        SpoolFile a(spool), b(spool), c(spool);
        for (SpoolFile* f : {&a, &b, &c}) f->append(bytes("data"));
        EXPECT_EQ(files_in(dir.path()), 3u);
    }
    EXPECT_EQ(spool.kept(), 2u);
    EXPECT_EQ(files_in(dir.path()), 2u);
}

// A clean stop leaves the spool empty: the next start reports what it finds there as a crash's
// leftovers, and kept files are not that.
TEST(SpoolFile, KeptFilesGoWhenTheSpoolDoes) {
    testing::TempDir dir;
    {
        Spool spool(dir.path(), 2);
        {
            SpoolFile a(spool), b(spool);
            for (SpoolFile* f : {&a, &b}) f->append(bytes("data"));
        }
        ASSERT_EQ(files_in(dir.path()), 2u);
    }
    EXPECT_EQ(files_in(dir.path()), 0u);
}

TEST(SpoolFile, LargeObjectsFileIsRemovedNotKept) {
    testing::TempDir dir;
    Spool spool(dir.path());
    {
        SpoolFile f(spool);
        const std::string mebibyte(1 << 20, 'x');
        for (int i = 0; i < 5; ++i) f.append(bytes(mebibyte));
    }
    EXPECT_EQ(spool.kept(), 0u);
    EXPECT_EQ(files_in(dir.path()), 0u) << "a large object's file gives its space back";
}

TEST(SpoolFile, MovedFromFileLeavesTheFileToItsNewOwner) {
    testing::TempDir dir;
    Spool spool(dir.path());
    std::optional<SpoolFile> owner;
    {
        SpoolFile f(spool);
        f.append(bytes("object"));
        owner.emplace(std::move(f));
    }
    EXPECT_EQ(spool.kept(), 0u);
    EXPECT_EQ(fs::file_size(owner->path()), 6u);
    owner.reset();
    EXPECT_EQ(spool.kept(), 1u);
}

}  // namespace
}  // namespace countylink::ingest
