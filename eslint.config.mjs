// ESLint flat config: typescript-eslint's type-checked rules over the TypeScript sources (src/, test/,
// bench/ through tsconfig.json; the notebook sources notebooks/*.ts through notebooks/tsconfig.json,
// found by the project service as each file's nearest tsconfig), ESLint's recommended rules without
// type information over the CommonJS build scripts (scripts/*.js). Line length and layout are
// Prettier's job (.prettierrc.json), so no formatting rules here.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // the build, dependencies, generated results and the scratch folders .gitignore names
    ignores: ['dist/', '**/node_modules/', 'native/build/', 'build/', 'notebooks/*.ipynb', 'results/', 'runs/', 'tmp/', '.gl/', '.whl/', 'bench/gpu/pack/'],
  },
  {
    files: ['**/*.ts'],
    // stylisticTypeChecked as well: on this code it asks for few changes (includes() over indexOf,
    // optional chains, for-of, `!` over `as T` for non-null), none against the kit's own style
    extends: [eslint.configs.recommended, ...tseslint.configs.recommendedTypeChecked, ...tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      // node:test's test()/describe()/it() return promises the runner itself awaits and reports
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      // Shapes and index lists go into messages as `[${shape}]` (Array's own join: "2,3,4"), and the
      // `never` of an exhaustive switch's default is printed for callers from JavaScript
      '@typescript-eslint/restrict-template-expressions': ['error', { allowArray: true, allowNever: true }],
      // Off: with noUncheckedIndexedAccess the kit writes an index it knows is in range as
      // `xs[i] as number`, naming the element type, rather than `xs[i]!` (some 550 places)
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // `process.env.X || fallback` treats an empty variable as unset, on purpose; ?? would not
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // `const { a: _a, ...rest } = x` drops fields on purpose; a leading _ marks an unused binding
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // no line over 160 characters (Prettier wraps code at 160; comments and markdown cells are wrapped by
      // hand); long string literals (error messages, notebook prose in template strings) are exempt
      'max-len': ['error', { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
  {
    files: ['scripts/*.js'],
    extends: [eslint.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
  },
);
