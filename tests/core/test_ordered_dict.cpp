// OrderedDict (core/ordered_dict.h): insertion order, O(1) lookup, stable references; the registry
// behind nn::Module's parameters, buffers and children.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <voxgrad/core/ordered_dict.h>

namespace {

using Dict = voxgrad::OrderedDict<std::string, int>;

std::vector<std::string> keys_of(const Dict& d) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : d) keys.push_back(key);
  return keys;
}

TEST(OrderedDict, IteratesInInsertionOrderNotKeyOrder) {
  Dict d;
  for (const char* k : {"z", "a", "m", "b"}) d.insert(k, 0);
  EXPECT_EQ(keys_of(d), (std::vector<std::string>{"z", "a", "m", "b"}));
  EXPECT_EQ(d.size(), 4u);
  EXPECT_FALSE(d.empty());
}

TEST(OrderedDict, FindsByKeyAndValuesCanBeChangedThroughFind) {
  Dict d;
  d.insert("weight", 1);
  d.insert("bias", 2);
  ASSERT_NE(d.find("bias"), nullptr);
  EXPECT_EQ(*d.find("bias"), 2);
  *d.find("bias") = 5;
  EXPECT_EQ(*static_cast<const Dict&>(d).find("bias"), 5);
  EXPECT_EQ(d.find("missing"), nullptr);
  EXPECT_TRUE(d.contains("weight"));
  EXPECT_FALSE(d.contains("missing"));
}

TEST(OrderedDict, ADuplicateKeyIsRefusedAndChangesNothing) {
  Dict d;
  ASSERT_NE(d.insert("a", 1), nullptr);
  EXPECT_EQ(d.insert("a", 2), nullptr);
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(*d.find("a"), 1);
}

TEST(OrderedDict, ReturnedPointersStayValidAsEntriesAreAdded) {
  Dict d;
  int* first = d.insert("0", 42);
  for (int i = 1; i < 10000; ++i) d.insert(std::to_string(i), i);
  EXPECT_EQ(*first, 42);
  EXPECT_EQ(first, d.find("0"));
  EXPECT_EQ(*d.find("9999"), 9999);
}

TEST(OrderedDict, CopiesAreIndependentAndClearEmpties) {
  Dict d;
  d.insert("a", 1);
  d.insert("b", 2);
  Dict copy = d;
  *copy.find("a") = 10;
  copy.insert("c", 3);
  EXPECT_EQ(*d.find("a"), 1);
  EXPECT_FALSE(d.contains("c"));
  EXPECT_EQ(keys_of(copy), (std::vector<std::string>{"a", "b", "c"}));
  Dict moved;
  moved = std::move(copy);
  EXPECT_EQ(*moved.find("c"), 3);
  moved.clear();
  EXPECT_TRUE(moved.empty());
  EXPECT_FALSE(moved.contains("a"));
  EXPECT_NE(moved.insert("a", 7), nullptr);  // usable after clear
  EXPECT_EQ(keys_of(moved), (std::vector<std::string>{"a"}));
}

}  // namespace
