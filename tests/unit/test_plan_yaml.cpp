// `plan`'s YAML text editing (sim/planner/plan_yaml.h): placement keys replaced in place or added, every
// other line (comments included) kept; flow-style layers refused with a message.
#include <doctest/doctest.h>

#include <string>

#include "ai8xsim/error.h"
#include "sim/planner/plan_yaml.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {

const std::string kYaml =
    "# a comment before\n"
    "arch: test\n"
    "dataset: x\n"
    "layers:\n"
    "  # layer 0\n"
    "  - processors: 0x7   # three channels\n"
    "    out_offset: 0x2000\n"
    "    op: conv2d\n"
    "  -\n"
    "    max_pool: 2  # kept\n"
    "    activate: ReLU\n"
    "  - name: last\n"
    "    in_offset: 0x10\n"
    "weights: []\n";

}  // namespace

TEST_CASE("plan yaml: items, values and edits keep everything else") {
  const LayerYamlText y(kYaml, "net.yaml");
  REQUIRE(y.items() == 3);
  CHECK(y.value(0, "processors") == std::optional<std::string>("0x7"));
  CHECK(y.value(0, "out_offset") == std::optional<std::string>("0x2000"));
  CHECK_FALSE(y.value(1, "processors").has_value());
  CHECK(y.value(2, "in_offset") == std::optional<std::string>("0x10"));
  CHECK_FALSE(y.value(2, "out_offset").has_value());  // `weights:` is not part of the layers

  std::vector<LayerYamlText::KeyValues> set(3);
  set[0] = {{"processors", "0x00000000000000f0"}, {"in_offset", "0x0000"}};
  set[1] = {{"processors", "0x0000000000000001"}};
  set[2] = {{"out_offset", "0x4000"}};
  std::vector<std::pair<int, int>> lines;
  const std::string out = y.with(set, &lines);
  // replaced in place, the comment kept
  CHECK(out.find("  - processors: 0x00000000000000f0   # three channels\n") != std::string::npos);
  // added after the item's first line, at the item's key indent
  CHECK(out.find("  - processors: 0x00000000000000f0   # three channels\n    in_offset: 0x0000\n") !=
        std::string::npos);
  CHECK(out.find("  -\n    processors: 0x0000000000000001\n    max_pool: 2  # kept\n") !=
        std::string::npos);
  CHECK(out.find("  - name: last\n    out_offset: 0x4000\n    in_offset: 0x10\n") != std::string::npos);
  // nothing else changed
  for (const char* keep : {"# a comment before\n", "  # layer 0\n", "    out_offset: 0x2000\n",
                           "weights: []\n", "    activate: ReLU\n"})
    CHECK(out.find(keep) != std::string::npos);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].first == 6);
  CHECK(lines[1].first == 10);  // after the added in_offset line
  // the edited text reads back with the new values
  const LayerYamlText back(out, "net.yaml");
  CHECK(back.value(1, "processors") == std::optional<std::string>("0x0000000000000001"));
  CHECK(back.value(2, "out_offset") == std::optional<std::string>("0x4000"));
}

TEST_CASE("plan yaml: flow style and missing layers are refused naming the file and line") {
  const Caught flow = catch_error([] { LayerYamlText("arch: a\nlayers:\n  - {op: conv2d}\n", "n.yaml"); });
  CHECK(flow.thrown);
  CHECK(flow.kind == ErrorKind::Config);
  CHECK(flow.contains("n.yaml:3"));
  CHECK(flow.contains("flow style"));
  const Caught none = catch_error([] { LayerYamlText("arch: a\n", "n.yaml"); });
  CHECK(none.contains("no top-level `layers:`"));
  const Caught list = catch_error([] { LayerYamlText("layers: [1, 2]\n", "n.yaml"); });
  CHECK(list.contains("flow style"));
}
