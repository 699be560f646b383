package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/azurite"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestBackendScripts runs the scripts of testdata/backend: the real binary
// keeping its collection in Azure Blob Storage, as the Azurite emulator
// serves it on loopback, against the scripts' simulated tenant. Each script
// gets a container of its own; shards run as concurrent processes.
func TestBackendScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("the backend scripts start the Azure Storage emulator; they are not short")
	}
	conn := azurite.Start(t)
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	matters := extractMatters(t, "testdata/matters.txtar")
	testscript.Run(t, testscript.Params{
		Dir: "testdata/backend",
		Setup: func(env *testscript.Env) error {
			env.Setenv("EXAMPLES", examples)
			env.Setenv("MATTERS", matters)
			env.Setenv("NO_COLOR", "1")
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			var b [6]byte
			rand.Read(b[:])
			env.Setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
			container := "script-" + hex.EncodeToString(b[:])
			if err := createContainer(conn, container); err != nil {
				return err
			}
			env.Setenv("COLLECT_BACKEND_CONTAINER", container)
			env.Setenv("COLLECT_BACKEND_LEASE_DURATION", "15s")
			if err := os.MkdirAll(filepath.Join(env.WorkDir, ".cache"), 0o700); err != nil {
				return err
			}
			return setupSim(env)
		},
		Cmds: backendCommands(),
	})
}

func backendCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := scriptCommands()
	cmds["disjoint"] = disjointCmd
	// sleep D lets a background collect get on with the mailboxes that are
	// not held (the scripts' clock is the real one).
	cmds["sleep"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: sleep DURATION")
		}
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		time.Sleep(d)
	}
	// served MAILBOX ROUTE N waits until the script's tenant has answered N
	// requests of that route for the mailbox (a local part), at most a minute.
	cmds["served"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: served MAILBOX ROUTE N")
		}
		n, err := strconv.ParseInt(args[2], 10, 64)
		ts.Check(err)
		tn := ts.Value("sim").(*graphsim.Tenant)
		addr := args[0] + "@" + simDomain
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			got := tn.Counters().Mailboxes[addr].ByRoute[graphsim.Route(args[1])]
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s got %d %s requests in a minute, not %d", addr, got, args[1], n)
			}
		}
	}
	return cmds
}

// createContainer makes a container in the emulator's account: collect
// never creates one (a mistyped name must not start a new collection).
func createContainer(conn, name string) error {
	c, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		return err
	}
	_, err = c.CreateContainer(context.Background(), name, nil)
	return err
}

// disjointCmd checks that the shards' show -json documents name no mailbox
// twice and together name every mailbox of the script's matter:
//
//	disjoint SHOW1.json SHOW2.json ...
func disjointCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: disjoint SHOW.json SHOW.json...")
	}
	owner := map[string]string{}
	for _, f := range args {
		var doc struct {
			Mailboxes []struct {
				Email     string `json:"email"`
				Collected int64  `json:"collected"`
			} `json:"mailboxes"`
		}
		ts.Check(json.Unmarshal([]byte(ts.ReadFile(f)), &doc))
		for _, mb := range doc.Mailboxes {
			if other, ok := owner[mb.Email]; ok {
				ts.Fatalf("mailbox %s is in the states of %s and %s", mb.Email, other, f)
			}
			if mb.Collected == 0 {
				ts.Fatalf("mailbox %s in %s collected nothing", mb.Email, f)
			}
			owner[mb.Email] = f
		}
	}
	for _, want := range []string{"ann", "bob", "legal"} {
		if _, ok := owner[want+"@"+simDomain]; !ok {
			ts.Fatalf("no shard holds mailbox %s (shards hold %v)", want, owner)
		}
	}
}
