package server

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

func TestAdminServerAnswersCommandsAsJSON(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Props["zookeeper.admin.enableServer"] = "true"
		c.Props["zookeeper.admin.serverAddress"] = "127.0.0.1"
		c.Props["zookeeper.admin.serverPort"] = "0"
	})
	if s.AdminAddr() == nil {
		t.Fatal("AdminServer not running")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.AdminAddr().String()+path, nil)
		req.Header.Set("Authorization", "ip") // cons and dump need an identity with ALL on "/"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, name := range []string{"ruok", "srvr", "monitor", "conf", "cons", "envi", "wchs", "dump", "dirs", "isro"} {
		code, body := get("/commands/" + name)
		var obj map[string]any
		if code != 200 || json.Unmarshal([]byte(body), &obj) != nil || obj["error"] != nil {
			t.Fatalf("%s: %d %s", name, code, body)
		}
	}
	_, body := get("/commands/monitor")
	var mon map[string]any
	json.Unmarshal([]byte(body), &mon)
	if mon["server_state"] != "standalone" || mon["znode_count"] != float64(5) {
		t.Fatalf("monitor: %v %v", mon["server_state"], mon["znode_count"])
	}
	if code, body := get("/commands"); code != 200 || !strings.Contains(body, `<a href="/commands/ruok">ruok</a>`) {
		t.Fatalf("/commands: %d %s", code, body)
	}
	if code, _ := get("/nope"); code != 404 {
		t.Fatalf("/nope: %d", code)
	}
}

func TestPrometheusMetricsUseZooKeepersNames(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.MetricsProvider = map[string]string{"className": config.PrometheusClassName, "httpHost": "127.0.0.1", "httpPort": "0"}
	})
	if s.MetricsAddr() == nil {
		t.Fatal("metrics endpoint not running")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{"\nznode_count 5\n", "# TYPE znode_count gauge", "# TYPE fsynctime summary", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(body, want) {
			t.Fatalf("/metrics lacks %q:\n%.2000s", want, body)
		}
	}
}

func TestAdminServerPortTakenLeavesTheServerRunningWithoutIt(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	s := startServer(t, func(c *config.Config) {
		c.Props["zookeeper.admin.enableServer"] = "true"
		c.Props["zookeeper.admin.serverAddress"] = "127.0.0.1"
		c.Props["zookeeper.admin.serverPort"] = port
	})
	if s.AdminAddr() != nil {
		t.Fatalf("AdminServer claims %v, a port that was taken", s.AdminAddr())
	}
	if h := rawConnect(t, s).call(1, jute.OpPing, nil, nil); h.Err != jute.OK {
		t.Fatalf("client port not serving: %+v", h)
	}
}
