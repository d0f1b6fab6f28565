#include <gtest/gtest.h>
#include <filesystem>
#include <iostream>
#include "config/catalogue.hpp"
TEST(Dump, All) {
  for (auto& e : std::filesystem::directory_iterator(DRWATCH_TESTDATA_DIR)) {
    auto r = drwatch::config::LoadCatalogueFile(e.path().string());
    std::cout << "### " << e.path().filename().string() << (r.catalogue ? " OK" : "") << "\n";
    for (auto& s : r.errors) std::cout << s << "\n";
  }
}
