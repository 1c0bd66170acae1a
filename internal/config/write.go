package config

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// String returns the configuration as zoo.cfg text that [Parse] reads back
// to an equal Config (File, MyID and ConfigVersion aside, which do not live
// in zoo.cfg). Keys whose value Parse would arrive at anyway are left out.
//
// Servers, Groups and Weights are written only when DynamicConfigFile is
// empty, since ZooKeeper forbids them in zoo.cfg otherwise. Properties that
// only the JVM can set (a name neither starting with "zookeeper." nor one
// of the JVM-only names zkd reads, such as java.* settings) have no zoo.cfg
// form and are left out.
func (c *Config) String() string {
	var b strings.Builder
	write := func(k, v string) {
		b.WriteString(escapeKey(k))
		b.WriteByte('=')
		b.WriteString(escapeValue(v))
		b.WriteByte('\n')
	}
	for _, k := range explicitKeyList {
		if v, ok := k.get(c); ok {
			write(k.name, v)
		}
	}
	if c.DynamicConfigFile == "" {
		for _, s := range c.Servers {
			write("server."+strconv.FormatInt(s.ID, 10), formatServer(s))
		}
		for _, g := range slices.Sorted(maps.Keys(c.Groups)) {
			ids := make([]string, len(c.Groups[g]))
			for i, id := range c.Groups[g] {
				ids[i] = strconv.FormatInt(id, 10)
			}
			write("group."+strconv.FormatInt(g, 10), strings.Join(ids, ":"))
		}
		for _, id := range slices.Sorted(maps.Keys(c.Weights)) {
			write("weight."+strconv.FormatInt(id, 10), strconv.FormatInt(c.Weights[id], 10))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.MetricsProvider)) {
		write("metricsProvider."+k, c.MetricsProvider[k])
	}
	// Properties in zoo.cfg spelling, each written once.
	props := make(map[string]string)
	for full, v := range c.Props {
		short, readable := shortName(full)
		if !readable || !writableProp(short) {
			continue
		}
		if _, hasJVM := c.Props[short]; hasJVM && short != full && jvmAlias(short) {
			continue // written under its JVM spelling
		}
		props[short] = v
	}
	keys := slices.SortedFunc(maps.Keys(props), func(a, b string) int { return cmp.Compare(a, b) })
	for _, k := range keys {
		write(k, props[k])
	}
	return b.String()
}

// writableProp reports whether a zoo.cfg line with key k would be read back
// as a property rather than as something else.
func writableProp(k string) bool {
	if _, ok := explicitKeys[k]; ok {
		return false
	}
	for _, p := range []string{"server.", "group.", "weight.", "metricsProvider."} {
		if strings.HasPrefix(k, p) {
			return false
		}
	}
	return true
}
