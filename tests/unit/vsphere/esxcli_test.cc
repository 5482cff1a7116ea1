#include "vsphere/esxcli.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "unit/vsphere/fake_vcenter.h"
#include "vsphere/fault.h"

namespace hoist::vsphere {
namespace {

using testing::FakeVcenter;
using testing::Response;

constexpr char kObjOpen[] =
    R"(<obj xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" versionId="5.0" )";

std::string DeviceList(const std::string& naa, const std::string& status) {
  return std::string(kObjOpen) +
         R"(xsi:type="ArrayOfDataObject"><DataObject xsi:type="VimEsxCLIstoragecoredevicelistDevice">)" +
         "<Device>" + naa + "</Device><DisplayName>PURE Fibre Channel Disk (" + naa + ")</DisplayName>" +
         "<IsLocal>false</IsLocal><Model>FlashArray</Model><Size>10240</Size><Status>" + status +
         "</Status><Vendor>PURE</Vendor><VAAIStatus>supported</VAAIStatus>"
         "<OtherUIDs><string>vml.0200</string><string>vml.0201</string></OtherUIDs></DataObject></obj>";
}

constexpr char kDeviceCliInfo[] =
    R"(<obj xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" versionId="5.0" xsi:type="VimCLIInfo">)"
    R"(<name>vim.EsxCLI.storage.core.device</name>)"
    R"(<method><name>list</name><displayName>list</displayName>)"
    R"(<param><name>device</name><displayName>device</displayName><aliases>-d</aliases><aliases>--device</aliases><flag>false</flag></param>)"
    R"(<param><name>excludeoffline</name><displayName>exclude-offline</displayName><aliases>-o</aliases><aliases>--exclude-offline</aliases><flag>true</flag></param>)"
    R"(</method>)"
    R"(<method><name>set</name><param><name>device</name><aliases>-d</aliases><aliases>--device</aliases></param>)"
    R"(<param><name>state</name><aliases>-s</aliases><aliases>--state</aliases></param></method></obj>)";

TEST(EsxcliDecode, RowsWithListFields) {
  EsxcliResult r = DecodeEsxcliResponse(DeviceList("naa.624a9370aaaa0001", "on"));
  ASSERT_EQ(r.kind, EsxcliResult::Kind::kRows);
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.Field(0, "Device"), "naa.624a9370aaaa0001");
  EXPECT_EQ(r.Field(0, "Status"), "on");
  EXPECT_EQ(r.rows[0].at("OtherUIDs"), (std::vector<std::string>{"vml.0200", "vml.0201"}));
  EXPECT_EQ(r.Field(1, "Device"), "");
}

TEST(EsxcliDecode, SingleObjectScalarsListsAndNothing) {
  EsxcliResult one = DecodeEsxcliResponse(
      std::string(kObjOpen) +
      R"(xsi:type="VimEsxCLIsystemhostnameget"><DomainName>lab</DomainName>)"
      R"(<FullyQualifiedDomainName>esx-01.lab</FullyQualifiedDomainName><HostName>esx-01</HostName></obj>)");
  ASSERT_EQ(one.kind, EsxcliResult::Kind::kRows);
  EXPECT_EQ(one.Field(0, "HostName"), "esx-01");

  EsxcliResult b = DecodeEsxcliResponse(std::string(kObjOpen) + R"(xsi:type="xsd:boolean">true</obj>)");
  EXPECT_EQ(b.kind, EsxcliResult::Kind::kScalar);
  EXPECT_EQ(b.scalar_type, "boolean");
  EXPECT_TRUE(b.AsBool());

  EsxcliResult s = DecodeEsxcliResponse(std::string(kObjOpen) + R"(xsi:type="xsd:string">0.3.3</obj>)");
  EXPECT_EQ(s.scalar, "0.3.3");
  EXPECT_FALSE(s.AsBool());

  EsxcliResult l = DecodeEsxcliResponse(
      std::string(kObjOpen) + R"(xsi:type="ArrayOfString"><string>a</string><string>b</string></obj>)");
  EXPECT_EQ(l.kind, EsxcliResult::Kind::kList);
  EXPECT_EQ(l.list, (std::vector<std::string>{"a", "b"}));

  EXPECT_EQ(DecodeEsxcliResponse("").kind, EsxcliResult::Kind::kNone);
}

TEST(EsxcliDecode, VcsimPrefixStyle) {
  EsxcliResult b = DecodeEsxcliResponse(
      R"(<obj xmlns="urn:vim25" xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" )"
      R"(xmlns:xsd="http://www.w3.org/2001/XMLSchema" XMLSchema-instance:type="xsd:boolean">false</obj>)");
  EXPECT_EQ(b.kind, EsxcliResult::Kind::kScalar);
  EXPECT_EQ(b.scalar_type, "boolean");
  EXPECT_FALSE(b.AsBool());
}

TEST(EsxcliEncode, ArgumentsAreEscapedTwice) {
  std::string p = BuildExecuteSoapParams("ha-cli-handler-vmkfstools", "vim.EsxCLI.vmkfstools.clone",
                                         {{"sourcevmdk", {"/vmfs/volumes/ds 1/a&b/<x>.vmdk"}}});
  XmlNode n = ParseXml("<r>" + p + "</r>");
  EXPECT_EQ(n.ChildText("version"), "urn:vim25/5.0");
  const XmlNode* arg = n.Child("argument");
  ASSERT_NE(arg, nullptr);
  EXPECT_EQ(arg->ChildText("name"), "sourcevmdk");
  // Inside: a document of its own, which the host parses again.
  XmlNode val = ParseXml(arg->ChildText("val"));
  EXPECT_EQ(val.name, "sourcevmdk");
  EXPECT_EQ(val.text, "/vmfs/volumes/ds 1/a&b/<x>.vmdk");
}

TEST(EsxcliOptions, MapsAliasesFlagsAndInlineValues) {
  CliInfo info = DecodeCliInfo(kDeviceCliInfo);
  EXPECT_EQ(info.name, "vim.EsxCLI.storage.core.device");
  const CliMethod* list = info.Method("list");
  ASSERT_NE(list, nullptr);
  auto args = MapCliOptions(*list, "storage core device list", {"-d", "naa.1", "-o"});
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0].name, "device");
  EXPECT_EQ(args[0].values, std::vector<std::string>{"naa.1"});
  EXPECT_EQ(args[1].name, "excludeoffline");
  EXPECT_EQ(args[1].values, std::vector<std::string>{"true"});
  args = MapCliOptions(*info.Method("set"), "storage core device set", {"--state=off", "--device", "naa.1"});
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0].name, "state");
  EXPECT_EQ(args[0].values[0], "off");
  try {
    MapCliOptions(*list, "storage core device list", {"-x"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("--device"), std::string::npos) << e.what();
  }
  EXPECT_THROW(MapCliOptions(*list, "storage core device list", {"-d"}), Error);
}

struct EsxFixture {
  FakeVcenter* fake;
  std::unique_ptr<Client> client;
  std::vector<std::pair<std::string, std::string>> executed;  // moid, method
};

std::unique_ptr<EsxFixture> MakeEsx() {
  auto fx = std::make_unique<EsxFixture>();
  auto fake = std::make_unique<FakeVcenter>();
  fx->fake = fake.get();
  EsxFixture* raw = fx.get();
  fake->On("RetrieveManagedMethodExecuter", [](const XmlNode& call) {
    EXPECT_EQ(call.ChildText("_this"), "host-9");
    return Response("RetrieveManagedMethodExecuter",
                    "<returnval type=\"ReflectManagedMethodExecuter\">ManagedMethodExecuter-9</returnval>");
  });
  fake->On("ExecuteSoap", [raw](const XmlNode& call) -> std::string {
    std::string moid = call.ChildText("moid");
    std::string method = call.ChildText("method");
    raw->executed.emplace_back(moid, method);
    std::string response;
    if (method == "vim.CLIInfo.FetchCLIInfo") {
      response = kDeviceCliInfo;
    } else if (method == "vim.EsxCLI.storage.core.device.list") {
      const XmlNode* arg = call.Child("argument");
      if (arg == nullptr) return Response("ExecuteSoap", "<returnval><response></response></returnval>");
      std::string naa = ParseXml(arg->ChildText("val")).text;
      if (naa == "naa.missing") {
        std::string detail = XmlEscape(
            R"(<obj xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" xsi:type="LocalizedMethodFault">)"
            R"(<fault xsi:type="VimEsxCLICLIFault"><errMsg>Unable to find device naa.missing</errMsg></fault>)"
            R"(<localizedMessage></localizedMessage></obj>)");
        return Response(
            "ExecuteSoap",
            "<returnval><fault><faultMsg>Unable to find device naa.missing</faultMsg><faultDetail>" + detail +
                "</faultDetail></fault></returnval>");
      }
      response = DeviceList(naa, "on");
    } else {
      return testing::FaultBody("NotFound", "The object or item referred to could not be found.");
    }
    return Response("ExecuteSoap", "<returnval><response>" + XmlEscape(response) + "</response></returnval>");
  });
  fx->client = std::make_unique<Client>(testing::TestOptions(), std::move(fake));
  fx->client->Login();
  return fx;
}

TEST(Esxcli, OneRoundTripPerCommandAfterWarmUp) {
  auto fx = MakeEsx();
  Esxcli cli(*fx->client);
  ManagedObjectReference host{"HostSystem", "host-9"};
  uint64_t before = fx->client->round_trips();
  EsxcliResult r = cli.Run(host, {"storage", "core", "device", "list", "-d", "naa.624a9370aaaa0001"});
  EXPECT_EQ(r.Field(0, "Status"), "on");
  // executer + CLIInfo + command
  EXPECT_EQ(fx->client->round_trips() - before, 3u);
  ASSERT_EQ(fx->executed.size(), 2u);
  EXPECT_EQ(fx->executed[0], (std::pair<std::string, std::string>{"ha-dynamic-type-manager-local-cli-cliinfo",
                                                                  "vim.CLIInfo.FetchCLIInfo"}));
  EXPECT_EQ(fx->executed[1], (std::pair<std::string, std::string>{"ha-cli-handler-storage-core-device",
                                                                  "vim.EsxCLI.storage.core.device.list"}));
  for (int i = 0; i < 5; ++i) {
    before = fx->client->round_trips();
    r = cli.Run(host, {"storage", "core", "device", "list", "--device", "naa.624a9370aaaa0002"});
    EXPECT_EQ(fx->client->round_trips() - before, 1u);
    EXPECT_EQ(r.Field(0, "Device"), "naa.624a9370aaaa0002");
  }
  EXPECT_EQ(fx->fake->Count("RetrieveManagedMethodExecuter"), 1u);
  // Named arguments need no metadata at all.
  before = fx->client->round_trips();
  r = cli.Execute(host, "storage core device", "list", {{"device", {"naa.3"}}});
  EXPECT_EQ(fx->client->round_trips() - before, 1u);
  EXPECT_EQ(r.Field(0, "Device"), "naa.3");
}

TEST(Esxcli, CliFaultBecomesATypedError) {
  auto fx = MakeEsx();
  Esxcli cli(*fx->client);
  try {
    cli.Execute({"HostSystem", "host-9"}, "storage.core.device", "list", {{"device", {"naa.missing"}}});
    FAIL();
  } catch (const Fault& f) {
    EXPECT_EQ(f.fault_type(), "VimEsxCLICLIFault");
    EXPECT_EQ(f.error_class(), ErrorClass::kPrecondition);
    std::string msg = f.what();
    EXPECT_NE(msg.find("Unable to find device naa.missing"), std::string::npos) << msg;
    EXPECT_NE(msg.find("esxcli storage core device list on ESXi host HostSystem:host-9"), std::string::npos)
        << msg;
  }
}

TEST(Esxcli, MissingPluginNamespaceSaysWhatToCheck) {
  auto fx = MakeEsx();
  Esxcli cli(*fx->client);
  try {
    cli.Run({"HostSystem", "host-9"}, {"vmkfstools", "version"});
    FAIL();
  } catch (const Fault& f) {
    EXPECT_EQ(f.fault_type(), "NotFound");
    EXPECT_NE(std::string(f.what()).find("hostd"), std::string::npos) << f.what();
  }
}

// A CLI fault as ESXi returns it inside the ExecuteSoap result.
std::string CliFaultResult(const std::string& err) {
  std::string detail = XmlEscape(
      R"(<obj xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" xsi:type="LocalizedMethodFault">)"
      R"(<fault xsi:type="VimEsxCLICLIFault"><errMsg>)" +
      XmlEscape(err) +
      R"(</errMsg></fault><localizedMessage>EsxCLI.CLIFault.summary</localizedMessage></obj>)");
  return Response("ExecuteSoap",
                  "<returnval><fault><faultMsg>EsxCLI.CLIFault.summary</faultMsg><faultDetail>" + detail +
                      "</faultDetail></fault></returnval>");
}

// A host whose plugin names taskGet's `-i` "taskid" in its CLIInfo (not "id", as the caller guesses),
// and refuses parameters it does not know the way esxcli does.
struct RenamedParamHost {
  FakeVcenter* fake = nullptr;
  std::unique_ptr<Client> client;
  std::vector<std::string> executed;  // method [arg names]
};

std::unique_ptr<RenamedParamHost> MakeRenamedParamHost() {
  auto fx = std::make_unique<RenamedParamHost>();
  auto fake = std::make_unique<FakeVcenter>();
  fx->fake = fake.get();
  RenamedParamHost* raw = fx.get();
  fake->On("RetrieveManagedMethodExecuter", [](const XmlNode&) {
    return Response("RetrieveManagedMethodExecuter",
                    "<returnval type=\"ReflectManagedMethodExecuter\">ManagedMethodExecuter-9</returnval>");
  });
  fake->On("ExecuteSoap", [raw](const XmlNode& call) -> std::string {
    std::string method = call.ChildText("method");
    std::string names;
    for (const XmlNode* a : call.Children("argument")) names += " " + a->ChildText("name");
    raw->executed.push_back(method + names);
    if (method == "vim.CLIInfo.FetchCLIInfo") {
      std::string info =
          R"(<obj xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" versionId="5.0" xsi:type="VimCLIInfo">)"
          R"(<name>vim.EsxCLI.vmkfstools</name><method><name>taskGet</name>)"
          R"(<param><name>taskid</name><displayName>id</displayName><aliases>-i</aliases><aliases>--id</aliases><flag>false</flag></param>)"
          R"(</method><method><name>taskClean</name>)"
          R"(<param><name>id</name><displayName>id</displayName><aliases>-i</aliases><aliases>--id</aliases><flag>false</flag></param>)"
          R"(</method></obj>)";
      return Response("ExecuteSoap", "<returnval><response>" + XmlEscape(info) + "</response></returnval>");
    }
    const XmlNode* arg = call.Child("argument");
    std::string want = method == "vim.EsxCLI.vmkfstools.taskGet" ? "taskid" : "id";
    if (arg == nullptr) return CliFaultResult("Missing required parameter -i|--id");
    if (arg->ChildText("name") != want) return CliFaultResult("Invalid option " + arg->ChildText("name"));
    std::string id = ParseXml(arg->ChildText("val")).text;
    if (id == "gone") return CliFaultResult("Unable to find task gone");
    if (id == "bad id") return CliFaultResult("Invalid parameter value bad id");
    std::string result = std::string(kObjOpen) +
                         R"(xsi:type="VimEsxCLIvmkfstoolsresult"><status>0</status><message>)" + id +
                         "</message></obj>";
    return Response("ExecuteSoap", "<returnval><response>" + XmlEscape(result) + "</response></returnval>");
  });
  fx->client = std::make_unique<Client>(testing::TestOptions(), std::move(fake));
  fx->client->Login();
  return fx;
}

TEST(Esxcli, NamedArgumentsNeedNoCliInfo) {
  auto fx = MakeRenamedParamHost();
  Esxcli cli(*fx->client);
  ManagedObjectReference host{"HostSystem", "host-9"};
  cli.Run(host, {"vmkfstools", "taskClean", "-i", "t0"}, {{"id", {"t0"}}});  // warms up the executer
  fx->executed.clear();
  uint64_t before = fx->client->round_trips();
  EsxcliResult r = cli.Run(host, {"vmkfstools", "taskClean", "-i", "t1"}, {{"id", {"t1"}}});
  EXPECT_EQ(r.Field(0, "message"), "t1");
  EXPECT_EQ(fx->client->round_trips() - before, 1u);
  EXPECT_EQ(fx->executed, std::vector<std::string>{"vim.EsxCLI.vmkfstools.taskClean id"});

  // A failure of the command itself is the command's answer: no CLIInfo is consulted.
  try {
    cli.Run(host, {"vmkfstools", "taskClean", "-i", "gone"}, {{"id", {"gone"}}});
    FAIL();
  } catch (const Fault& f) {
    EXPECT_NE(std::string(f.what()).find("Unable to find task gone"), std::string::npos) << f.what();
  }
  EXPECT_EQ(fx->fake->Count("ExecuteSoap"), 3u);
}

TEST(Esxcli, ParameterNamesTheHostCallsDifferentlyAreTakenFromItsCliInfo) {
  auto fx = MakeRenamedParamHost();
  Esxcli cli(*fx->client);
  ManagedObjectReference host{"HostSystem", "host-9"};
  EsxcliResult r = cli.Run(host, {"vmkfstools", "taskGet", "-i", "t1"}, {{"id", {"t1"}}});
  EXPECT_EQ(r.Field(0, "message"), "t1");
  // Refused (the command did not run), the names checked once, then run with the host's names.
  EXPECT_EQ(fx->executed,
            (std::vector<std::string>{"vim.EsxCLI.vmkfstools.taskGet id", "vim.CLIInfo.FetchCLIInfo typeName",
                                      "vim.EsxCLI.vmkfstools.taskGet taskid"}));
  // From then on that command goes straight to the host's names.
  fx->executed.clear();
  uint64_t before = fx->client->round_trips();
  r = cli.Run(host, {"vmkfstools", "taskGet", "-i", "t2"}, {{"id", {"t2"}}});
  EXPECT_EQ(r.Field(0, "message"), "t2");
  EXPECT_EQ(fx->client->round_trips() - before, 1u);
  EXPECT_EQ(fx->executed, std::vector<std::string>{"vim.EsxCLI.vmkfstools.taskGet taskid"});
}

TEST(Esxcli, ARefusalTheCliInfoConfirmsIsTheHostsAnswer) {
  auto fx = MakeRenamedParamHost();
  Esxcli cli(*fx->client);
  ManagedObjectReference host{"HostSystem", "host-9"};
  // The names are right but the host refuses the value: its refusal is thrown as it is, and the
  // command is not sent again.
  try {
    cli.Run(host, {"vmkfstools", "taskClean", "-i", "bad id"}, {{"id", {"bad id"}}});
    FAIL();
  } catch (const Fault& f) {
    EXPECT_EQ(f.fault_type(), "VimEsxCLICLIFault");
    EXPECT_NE(std::string(f.what()).find("Invalid parameter value bad id"), std::string::npos) << f.what();
  }
  EXPECT_EQ(fx->executed, (std::vector<std::string>{"vim.EsxCLI.vmkfstools.taskClean id",
                                                    "vim.CLIInfo.FetchCLIInfo typeName"}));
  // An option the host has never heard of: its own CLIInfo says so.
  try {
    cli.Run(host, {"vmkfstools", "taskClean", "--bogus", "x"}, {{"bogus", {"x"}}});
    FAIL();
  } catch (const Fault& f) {
    EXPECT_NE(std::string(f.what()).find("Invalid option bogus"), std::string::npos) << f.what();
  }
}

}  // namespace
}  // namespace hoist::vsphere
