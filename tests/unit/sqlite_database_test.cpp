// The SQLite layer's kept statements: prepared once per connection, and each use starts from
// a clean state (no row left mid-iteration, no binding left over from the last use).
#include "gateway/store/sqlite/database.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>

#include <gtest/gtest.h>

namespace countylink::store::sqlite {
namespace {

using countylink::testing::TempDir;

TEST(SqliteDatabase, KeptStatementsStartCleanOnEveryUse) {
    TempDir dir;
    Database db(dir.path() / "test.sqlite");
    exec(db.handle(), "CREATE TABLE t (k INTEGER, v TEXT)");
    for (int64_t k = 1; k <= 3; ++k) {
        Statement insert(db, "INSERT INTO t (k, v) VALUES (?1, ?2)");
        insert.bind(1, k).bind(2, "row " + std::to_string(k)).step();
    }
    const std::string select = "SELECT k FROM t WHERE ?1 IS NULL OR k >= ?1 ORDER BY k";
    sqlite3_stmt* first = nullptr;
    {
        Statement s(db, select);
        s.bind(1, int64_t{2});
        ASSERT_TRUE(s.step());  // left after one row of two
        EXPECT_EQ(s.integer(0), 2);
        first = db.prepared(select);
    }
    Statement again(db, select);  // no binding: ?1 is NULL again, and iteration restarts
    int64_t rows = 0;
    while (again.step()) ++rows;
    EXPECT_EQ(rows, 3);
    EXPECT_EQ(db.prepared(select), first) << "prepared once per connection";
}

}  // namespace
}  // namespace countylink::store::sqlite
