package ensemble

import (
	"os"
	"testing"

	"github.com/zkd/zkd/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m)) }
