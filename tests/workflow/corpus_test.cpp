// The validation corpus: every file in corpus/ is a broken workflow whose leading comment lines
// "# expect: LINE:COL: TEXT" list, in order, every diagnostic the loader must report — at that
// line and column, with a message containing TEXT — and no others.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_registry.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::workflow {
namespace {

struct Expectation {
  int line = 0;
  int column = 0;
  std::string text;
};

std::vector<Expectation> read_expectations(const std::filesystem::path& file) {
  std::vector<Expectation> out;
  std::ifstream in(file);
  std::string line;
  const std::string prefix = "# expect: ";
  while (std::getline(in, line) && line.rfind("#", 0) == 0) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string rest = line.substr(prefix.size());
    Expectation expectation;
    auto first = rest.find(':');
    auto second = rest.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      ADD_FAILURE() << file << ": bad expectation line: " << line;
      continue;
    }
    expectation.line = std::stoi(rest.substr(0, first));
    expectation.column = std::stoi(rest.substr(first + 1, second - first - 1));
    expectation.text = rest.substr(second + 1);
    if (!expectation.text.empty() && expectation.text.front() == ' ') {
      expectation.text.erase(0, 1);
    }
    out.push_back(expectation);
  }
  return out;
}

std::vector<std::filesystem::path> corpus_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(WFT_CORPUS_DIR)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Corpus, HasEnoughFiles) { EXPECT_GE(corpus_files().size(), 30u); }

class CorpusFile : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(CorpusFile, ReportsExactlyItsExpectedDiagnostics) {
  const std::filesystem::path& file = GetParam();
  auto expectations = read_expectations(file);
  ASSERT_FALSE(expectations.empty()) << file << " has no '# expect:' line";
  auto result = load_workflow(file, testing::test_registry());
  std::string reported;
  for (const auto& diagnostic : result.diagnostics) reported += diagnostic.format() + "\n";
  EXPECT_FALSE(result.workflow);
  ASSERT_EQ(result.diagnostics.size(), expectations.size()) << "reported:\n" << reported;
  for (std::size_t i = 0; i < expectations.size(); ++i) {
    const auto& expected = expectations[i];
    const auto& actual = result.diagnostics[i];
    EXPECT_EQ(actual.file, file.string());
    EXPECT_EQ(actual.mark.line, expected.line) << "diagnostic " << i + 1 << "\n" << reported;
    EXPECT_EQ(actual.mark.column, expected.column) << "diagnostic " << i + 1 << "\n" << reported;
    EXPECT_NE(actual.message.find(expected.text), std::string::npos)
        << "diagnostic " << i + 1 << " should contain: " << expected.text << "\n"
        << reported;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, CorpusFile, ::testing::ValuesIn(corpus_files()),
                         [](const ::testing::TestParamInfo<std::filesystem::path>& param_info) {
                           std::string name = param_info.param.stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace reelflow::workflow
