package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"moviequery/origin"
)

func createKey(f *flags) error {
	if f.name == "" {
		return fmt.Errorf("-name is required: say who the key is for")
	}
	var scopes []string
	for _, scope := range strings.Split(f.scopes, ",") {
		if scope = strings.ToLower(strings.TrimSpace(scope)); scope != "" && !slices.Contains(scopes, scope) {
			scopes = append(scopes, scope)
		}
	}
	if len(scopes) == 0 {
		return fmt.Errorf("-scopes is empty; give one or more of query, audit, admin, separated by commas")
	}
	store, err := f.store()
	if err != nil {
		return err
	}
	defer store.Close()

	key, secret, err := store.CreateKey(context.Background(), f.name, scopes)
	if err != nil {
		return err
	}
	fmt.Printf("created key %s for %q with scopes %s\nsecret (shown once, store it now): %s\n", key.ID, key.Name, strings.Join(key.Scopes, ","), secret)
	return nil
}

func listKeys(f *flags) error {
	store, err := f.store()
	if err != nil {
		return err
	}
	defer store.Close()

	keys, err := store.ActiveKeys(context.Background())
	if err != nil {
		return err
	}
	fmt.Println("ID\tNAME\tSCOPES\tRATE PER EDGE")
	for _, k := range keys {
		fmt.Printf("%s\t%s\t%s\t%d/s burst %d\n", k.ID, k.Name, strings.Join(k.Scopes, ","), k.RatePerSecond, k.Burst)
	}
	return nil
}

func revokeKey(f *flags) error {
	if f.id == "" {
		return fmt.Errorf("-id is required: the key id shown by the keys command")
	}
	store, err := f.store()
	if err != nil {
		return err
	}
	defer store.Close()

	if err := store.RevokeKey(context.Background(), f.id); err != nil {
		return err
	}
	fmt.Printf("revoked key %s; edges stop accepting it at their next key refresh\n", f.id)
	return nil
}

func listQuarantine(f *flags) error {
	store, err := f.store()
	if err != nil {
		return err
	}
	defer store.Close()

	for after := int64(0); ; {
		page, err := store.Quarantine(context.Background(), after, 1000)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			if after == 0 {
				fmt.Fprintln(os.Stderr, "no update is in quarantine")
			}
			return nil
		}
		for _, q := range page {
			fmt.Printf("%d\ts3://%s/%s\t%s\t%s\n", q.ID, q.Bucket, q.Key, q.Version, q.Reason)
		}
		after = page[len(page)-1].ID
	}
}

func redrive(f *flags) error {
	ids, err := parseID(f.id)
	if err != nil {
		return err
	}

	results, err := origin.RedriveQuarantine(context.Background(), f.cfg, ids)
	for _, r := range results {
		fmt.Printf("%d\t%s\t%s\t%s\n", r.QuarantineID, r.Key, r.Outcome, r.Reason)
	}
	return err
}

func digest(f *flags) error {
	store, err := f.store()
	if err != nil {
		return err
	}
	defer store.Close()

	d, err := store.Digest(context.Background())
	if err != nil {
		return err
	}
	return printJSON(d)
}

func rebuild(f *flags) error {
	if f.cfg.Bucket == "" {
		return fmt.Errorf("-bucket is required")
	}
	result, err := origin.Rebuild(context.Background(), f.cfg)
	if err != nil {
		return err
	}
	fmt.Printf("listed %d object versions, ingested %d the database lacked\n", result.Listed, result.Ingested)
	return digest(f)
}

// maxRate is the largest rate or burst set-rate accepts. A million requests
// a second is no limit in practice, and it fits the database's int columns.
const maxRate = 1_000_000

func setRate(f *flags) error {
	if f.id == "" {
		return fmt.Errorf("-id is required: the key id shown by the keys command")
	}
	givenFlags := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { givenFlags[fl.Name] = true })
	if !givenFlags["rate"] && !givenFlags["burst"] {
		return fmt.Errorf("give -rate, -burst or both; a flag left out keeps its value")
	}
	for name, value := range map[string]int{"rate": f.rate, "burst": f.burst} {
		if givenFlags[name] && (value < 1 || value > maxRate) {
			return fmt.Errorf("-%s %d is out of range; give a whole number from 1 to %d", name, value, maxRate)
		}
	}
	store, err := f.store()
	if err != nil {
		return err
	}
	defer store.Close()

	if err := store.SetKeyRate(context.Background(), f.id, f.rate, f.burst); err != nil {
		return err
	}
	return printRate(store, f.id)
}

// printRate prints the rate limit a key has now.
func printRate(store *origin.Store, id string) error {
	keys, err := store.ActiveKeys(context.Background())
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == id {
			fmt.Printf("key %s: %d requests per second per edge, burst %d; edges apply it at their next key refresh\n", k.ID, k.RatePerSecond, k.Burst)
		}
	}
	return nil
}
